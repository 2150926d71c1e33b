"""Core of the text-editing service: everything except rendering. Never imports streamlit."""
