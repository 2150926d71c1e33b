"""Log in or create an account."""

import streamlit as st

from app_pages import common
from textedit_core import auth
from textedit_core.errors import DomainError

svc = common.app_services()

st.title("✍️ TextEdit")
st.caption("Paraphrase, fix and shorten your writing with a local language model.")

login_tab, register_tab = st.tabs(["Log in", "Create account"])

with login_tab:
    with st.form("login_form"):
        email = st.text_input("Email", key="login_email", autocomplete="email")
        password = st.text_input(
            "Password", type="password", key="login_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        try:
            user = svc.db.run(lambda s: auth.authenticate(s, email, password))
        except DomainError as error:
            st.error(str(error))
        else:
            common.sign_in(
                auth.issue_access_token(user, svc.jwt_secret, svc.settings.access_token_minutes)
            )
            st.rerun()

with register_tab:
    with st.form("register_form"):
        new_email = st.text_input("Email", key="register_email", autocomplete="email")
        new_password = st.text_input(
            "Password",
            type="password",
            key="register_password",
            autocomplete="new-password",
            help="At least 12 characters. A few unrelated words make a strong passphrase.",
        )
        repeat = st.text_input(
            "Repeat password", type="password", key="register_repeat", autocomplete="new-password"
        )
        created = st.form_submit_button("Create account", type="primary")
    if created:
        if new_password != repeat:
            st.error("The two passwords do not match.")
        else:
            try:
                user = svc.db.run(lambda s: auth.register(s, new_email, new_password))
            except DomainError as error:
                st.error(str(error))
            else:
                common.sign_in(
                    auth.issue_access_token(user, svc.jwt_secret, svc.settings.access_token_minutes)
                )
                common.flash("success", "Welcome! Top up your wallet to start editing.")
                st.rerun()
