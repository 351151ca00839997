"""Widget apps shown in Voilà. Each view reads its widgets, calls one service function and
shows the result or the error on screen (never swallowed: see :func:`reports_errors`)."""

from __future__ import annotations

import functools
import html
import os
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from workbench.errors import WorkbenchError
from workbench.judging import ROLE_ENV, ROUND_ENV


class Alert(widgets.HTML):
    """A message area for results and errors, announced to screen readers."""

    STYLES = {
        "info": ("#084298", "#cfe2ff"),
        "success": ("#0f5132", "#d1e7dd"),
        "warning": ("#664d03", "#fff3cd"),
        "error": ("#842029", "#f8d7da"),
    }

    def __init__(self, **kwargs):
        super().__init__(value="", **kwargs)
        self.kind = ""
        self.text = ""

    def show(self, text: str, kind: str = "info") -> None:
        colour, background = self.STYLES[kind]
        role = "alert" if kind == "error" else "status"
        self.kind, self.text = kind, text
        self.value = (f'<div role="{role}" aria-live="polite" style="color:{colour};background:{background};'
                      f'padding:6px 10px;border-radius:4px;margin:4px 0">{html.escape(text)}</div>')

    def clear(self) -> None:
        self.kind = self.text = ""
        self.value = ""


def reports_errors(alert_attribute: str = "alert"):
    """Decorate a widget callback so any error appears in ``self.<alert_attribute>``.

    Expected errors (:class:`WorkbenchError`) show their message, which says what to do;
    anything else shows a short apology with the error type, and is re-raised to the log.
    """

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            alert: Alert = getattr(self, alert_attribute)
            try:
                return method(self, *args, **kwargs)
            except WorkbenchError as exc:
                alert.show(str(exc), "error")
            except Exception as exc:  # shown on screen, then logged by the kernel
                alert.show(f"Something went wrong ({type(exc).__name__}): {exc}. Nothing was saved by this "
                           "action; please try again or tell the organiser.", "error")
                raise
            return None

        return wrapper

    return decorate


def organiser_page(environ: Mapping[str, str] | None, build: Callable[..., Any], refusal: str):
    """``build(url=..., round_name=...)`` for an organiser (or a local run with no role set);
    the ``refusal`` HTML for anyone else, such as a judge who edited the address."""
    from IPython.display import HTML

    environ = os.environ if environ is None else environ
    role = environ.get(ROLE_ENV, "")
    if role and role != "organiser":
        return HTML(refusal)
    return build(url=environ.get("WORKBENCH_DB"), round_name=environ.get(ROUND_ENV) or None)
