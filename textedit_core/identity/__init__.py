"""Who someone is and what they may do: accounts, passwords, access tokens, signed-in
devices, login throttling, roles and blocking, and the actor check inside each action.
"""
