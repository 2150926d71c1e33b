"""Editing a text with the model: the operations (no client), the Ollama gateway, and one
edit job (charge, stream, settle or refund).
"""
