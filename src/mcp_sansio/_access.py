"""Per-call authorization: the scopes a tool, resource or prompt needs, and the app's hook.

Checked before a call is claimed or run, in both eras. A token without a needed
scope gets 403 ``insufficient_scope`` (the client may ask for more); the app's
hook refusing gets a plain 403.
"""

from __future__ import annotations

from ._auth import AuthRefusal, Principal, ResourceServer
from ._errors import INVALID_REQUEST, RemoteProtocolError
from ._jsonrpc import Request
from ._registry import App

__all__ = ["refusal_for", "target_of"]

_KINDS = {"tools/call": ("tool", "name"), "resources/read": ("resource", "uri"), "prompts/get": ("prompt", "name")}


def target_of(request: Request, app: App) -> tuple[str, str, tuple[str, ...]] | None:
    """(kind, name, scopes needed) of a call, or None for a method that calls nothing of the app's."""
    found = _KINDS.get(request.method)
    if found is None:
        return None
    kind, key = found
    name = (request.params or {}).get(key)
    if not isinstance(name, str):
        return None  # malformed: plan_method answers it
    if kind == "tool":
        tool = app.tools.get(name)
        return kind, name, tool.scopes if tool is not None else ()
    if kind == "prompt":
        prompt = app.prompts.get(name)
        return kind, name, prompt.scopes if prompt is not None else ()
    resource = app.resources.get(name)
    if resource is not None:
        return kind, name, resource.scopes
    matched = app.find_template(name)
    return kind, name, matched[0].scopes if matched is not None else ()


def refusal_for(
    request: Request, principal: Principal | None, app: App, auth: ResourceServer | None
) -> AuthRefusal | RemoteProtocolError | None:
    """Why ``principal`` may not make ``request``, or None if it may."""
    if app.authorizer is None and auth is None:
        return None
    target = target_of(request, app)
    if target is None:
        return None
    kind, name, scopes = target
    if auth is not None and principal is not None and scopes:
        refusal = auth.check_scopes(principal, scopes, f"{kind} {name!r}")
        if refusal is not None:
            return refusal
    if app.authorizer is not None and not app.authorizer(principal, kind, name):
        who = "anonymous callers" if principal is None else f"subject {principal.subject!r}"
        return RemoteProtocolError(
            f"Forbidden: {who} may not use {kind} {name!r}", error_status_hint=403, code=INVALID_REQUEST
        )
    return None
