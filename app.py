"""Entrypoint: restore the session, then build the navigation for the signed-in user's role."""

import streamlit as st

from app_pages import common

st.set_page_config(page_title="TextEdit", page_icon="✍️", layout="centered")

account = common.current_account()
if account is None:
    pages = [st.Page("app_pages/login.py", title="Log in", icon=":material/login:", default=True)]
else:
    pages = [
        st.Page("app_pages/editor.py", title="Editor", icon=":material/edit_note:", default=True),
        st.Page("app_pages/wallet.py", title="Wallet", icon=":material/account_balance_wallet:", url_path="wallet"),
    ]
    if account.is_admin:
        pages.append(st.Page("app_pages/admin.py", title="Admin", icon=":material/admin_panel_settings:", url_path="admin"))

navigation = st.navigation(pages)
if account is not None:
    common.render_sidebar(account)
common.show_flash()
navigation.run()
