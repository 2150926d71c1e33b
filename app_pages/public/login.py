"""Log in or create an account."""

import streamlit as st

from app_pages.components import session
from app_pages.components.actions import shown_errors
from app_pages.components.common import app_services, flash
from app_pages.components.inputs import new_password_fields, passwords_match
from textedit_core.usecases import signin

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
        with shown_errors():
            session.sign_in(signin.login(svc, email, password, session.client()))
            st.rerun()

if registration_open:
    with tabs[1]:
        with st.form("register_form"):
            new_email = st.text_input("Email", key="register_email", autocomplete="email")
            new_password, repeat = new_password_fields("Password", "Repeat password", key="register")
            created = st.form_submit_button("Create account", type="primary")
        if created and passwords_match(new_password, repeat):
            with shown_errors():
                session.sign_in(signin.register(svc, new_email, new_password, session.client()))
                flash("success", "Welcome! Top up your wallet to start editing.")
                st.rerun()
else:
    st.caption("New accounts are created by an administrator.")
