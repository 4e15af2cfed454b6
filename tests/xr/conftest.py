"""Real-runtime tests share one Monado service per sandbox run: each test starts from the
remote driver's reset state (head and controllers as the service started them), so no test
inherits another's untracked controller or hand-tracking flags. A module whose every test
needs the runtime running names the ``headset`` fixture in its ``pytestmark``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.sandbox import in_sandbox
from support.xr_run import headset_runtime


@pytest.fixture
def headset() -> None:
    """The runtime for one test: skipped outside tools/xr-sandbox; inside it, the Monado
    service started again if a test before (a crash test) stopped it."""
    headset_runtime()


@pytest.fixture(autouse=True)
def remote_driver_reset() -> Iterator[None]:
    yield
    if not in_sandbox():
        return
    from support.monado_remote import MonadoRemote

    try:
        with MonadoRemote() as remote:
            remote.send(remote.reset_state)
    except OSError:
        pass  # the service is down (a crash test): the next test restarts it with a fresh state
