"""Typed models of the API's bodies, for its OpenAPI document (and the clients made from it).

- `requests`: what each operation accepts, as the service's parsers check it.
- `responses`: what each operation answers, as the service's views build it; `Problem`.
- `operations`: `OPERATIONS`, the table from (method, path) to those models.

The models describe; they never validate. A route still hands the raw body to the hub,
whose parsers give the field-by-field 422 (`api/openapi.py` puts the models into the
document, nowhere else).

Adding a route: write its request model in `requests.py` (`extra="forbid"`, the
parser's required fields, enums and limits) and its answer in `responses.py`
(`extra="allow"`, the members the view always sets, `ledger_index` where the service
sets it), export them in `__all__`, and add one line to `OPERATIONS` (`public=True` if
it takes no token, `unit=True` if it takes a unit's, `media`/`headers` if its answer is
not JSON, `problems` for statuses beyond the common ones). The document
test (tests/api_document) fails for an operation missing from the table, and the fuzz
test then sends it bodies generated from the new schema.
"""

from __future__ import annotations

from deconflict.api.models.operations import OPERATIONS, Operation
from deconflict.api.models.requests import *  # noqa: F403
from deconflict.api.models.requests import __all__ as _requests
from deconflict.api.models.responses import *  # noqa: F403
from deconflict.api.models.responses import __all__ as _responses

__all__ = ["OPERATIONS", "Operation", *_requests, *_responses]  # noqa: PLE0604
