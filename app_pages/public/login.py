"""Log in, create an account, or set a new password with an admin's reset code."""

import streamlit as st

from app_pages.components import language, session
from app_pages.components.actions import shown_errors
from app_pages.components.common import app_services, escape_markdown, flash
from app_pages.components.inputs import new_password_fields, passwords_match
from textedit_core.i18n import _, ngettext
from textedit_core.identity.resets import LIFETIME
from textedit_core.infra.config import SignupPolicy
from textedit_core.usecases import signin

svc = app_services()
RESET_MINUTES = int(LIFETIME.total_seconds() // 60)
PRODUCT = "TextEdit"  # a name: the same in every language

st.title(f"✍️ {PRODUCT}")
st.caption(_("Paraphrase, fix and shorten your writing with a local language model."))

# The core enforces the policy (TEXTEDIT_SIGNUP); the page only shows the form that fits it.
policy = svc.settings.signup_policy
registration_open = policy != SignupPolicy.CLOSED
tabs = st.tabs([_("Log in"), _("Create account")] if registration_open else [_("Log in")])

with tabs[0]:
    with st.form("login_form"):
        email = st.text_input(_("Email"), key="login_email", autocomplete="email")
        password = st.text_input(
            _("Password"), type="password", key="login_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button(_("Log in"), type="primary")
    if submitted:
        with shown_errors():
            session.sign_in(signin.login(svc, email, password, session.client()))
            st.rerun()

with tabs[0]:
    # Collapsed, it renders nothing: the form is built only once the visitor opens it.
    reset_box = st.expander(
        _("Forgot your password? Reset it with a code"), key="reset_open", on_change="rerun"
    )
    if reset_box.open:
        with reset_box:
            st.caption(
                ngettext(
                    "Ask an administrator for a reset code. It works once, for {n} minute.",
                    "Ask an administrator for a reset code. It works once, for {n} minutes.",
                    RESET_MINUTES,
                )
            )
            with st.form("reset_form"):
                reset_email = st.text_input(_("Email"), key="reset_email", autocomplete="email")
                reset_code = st.text_input(_("Reset code"), key="reset_code", autocomplete="one-time-code")
                reset_password, reset_repeat = new_password_fields(
                    _("New password"), _("Repeat new password"), key="reset"
                )
                reset = st.form_submit_button(_("Set new password"), type="primary")
            if reset and passwords_match(reset_password, reset_repeat):
                with shown_errors():
                    session.sign_in(
                        signin.reset_password(svc, reset_email, reset_code, reset_password, session.client())
                    )
                    flash("success", _("Your password is changed and you are logged in."))
                    st.rerun()

if registration_open:
    with tabs[1]:
        if policy == SignupPolicy.DOMAINS:
            domains = svc.settings.signup_domain_names
            st.caption(
                ngettext(
                    "Sign-up is open to addresses at {domains}.",
                    "Sign-up is open to addresses at one of {domains}.",
                    len(domains),
                    domains=escape_markdown(", ".join(domains)),
                )
            )
        elif policy == SignupPolicy.APPROVAL:
            st.caption(_("A new account can log in once an administrator has approved it."))
        with st.form("register_form"):
            new_email = st.text_input(_("Email"), key="register_email", autocomplete="email")
            new_password, repeat = new_password_fields(_("Password"), _("Repeat password"), key="register")
            created = st.form_submit_button(_("Create account"), type="primary")
        if created and passwords_match(new_password, repeat):
            with shown_errors():
                answer = signin.register(svc, new_email, new_password, session.client())
                if isinstance(answer, signin.SignUpReceived):
                    # The same words for a new address and one that has an account: nobody is signed in.
                    st.success(answer.message)
                else:
                    session.sign_in(answer)
                    language.keep_for_new_account()
                    flash("success", _("Welcome! Top up your wallet to start editing."))
                    st.rerun()
else:
    st.caption(_("New accounts are created by an administrator."))
