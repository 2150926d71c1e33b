"""Log in or create an account."""

import streamlit as st

from app_pages.components import session
from app_pages.components.common import app_services, flash, show_error
from textedit_core import signin
from textedit_core.errors import DomainError

svc = app_services()

st.title("✍️ TextEdit")
st.caption("Paraphrase, fix and shorten your writing with a local language model.")

registration_open = svc.settings.allow_registration
tabs = st.tabs(["Log in", "Create account"] if registration_open else ["Log in"])

with tabs[0]:
    with st.form("login_form"):
        email = st.text_input("Email", key="login_email", autocomplete="email")
        password = st.text_input(
            "Password", type="password", key="login_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        try:
            signed_in = signin.login(svc, email, password, session.client())
        except DomainError as error:
            show_error(str(error))
        else:
            session.sign_in(signed_in)
            st.rerun()

if registration_open:
    with tabs[1]:
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
                    signed_in = signin.register(svc, new_email, new_password, session.client())
                except DomainError as error:
                    show_error(str(error))
                else:
                    session.sign_in(signed_in)
                    flash("success", "Welcome! Top up your wallet to start editing.")
                    st.rerun()
else:
    st.caption("New accounts are created by an administrator.")
