"""Languages: which one to speak, gettext catalogs, translated errors (see docs/languages.md)."""

from .languages import DEFAULT, ENV_VAR, LANGUAGES, from_environment, html_lang, negotiate, normalize, pick

__all__ = ["DEFAULT", "ENV_VAR", "LANGUAGES", "from_environment", "html_lang", "negotiate", "normalize", "pick"]
