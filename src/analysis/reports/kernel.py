"""The kernel the report notebooks run in.

Two problems with papermill's defaults when reports run many counties at once from a project
virtual environment:

* **Which Python.** With kernelspec metadata stripped from the notebooks (nbstripout), papermill
  needs a kernel name, and a ``python3`` kernelspec found on the user's Jupyter path may belong to
  another interpreter. :class:`ProjectKernelManager` ignores kernelspecs and always launches
  ``ipykernel`` with ``sys.executable``, the interpreter running ``pairing-eval`` (the project's
  ``.venv``).
* **Port races.** Each kernel picks five free TCP ports; parallel kernels started at the same moment
  can pick the same port (jupyter/jupyter_client#487). The manager uses the IPC transport instead:
  Unix domain sockets in a private temporary folder per kernel, so kernels cannot collide.

* **Orphans.** jupyter_client starts each kernel in a session of its own, so stopping the process
  that started it (even its whole process group) does not stop the kernel, and a ``SIGKILL`` of
  ``pairing-eval report`` would leave kernels computing. Each kernel asks Linux to kill it when
  its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, through :mod:`ctypes`: no library
  exposes it) as the first thing it does, and exits at once if the parent is already gone; the
  report workers do the same (:func:`die_with_parent`). Elsewhere ipykernel's own parent poller
  (``JPY_PARENT_PID``) stops the kernel within about a second.

nbclient accepts ``kernel_manager_class`` as an option and papermill passes engine keyword
arguments through to nbclient, so the driver calls
``papermill.execute_notebook(..., kernel_manager_class=ProjectKernelManager)``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum, default

#: environment variable naming a file that receives the kernel process's stdout and stderr
KERNEL_LOG = "PAIRING_EVAL_KERNEL_LOG"

#: ``prctl`` option: the signal this process receives when its parent exits (linux/prctl.h)
PR_SET_PDEATHSIG = 1

#: what the kernel process runs before ipykernel (``python -c``): the parent-death signal, and an
#: immediate exit when the parent that launched it (``JPY_PARENT_PID``) is already gone
KERNEL_BOOT = f"""\
import ctypes, os, runpy, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl({PR_SET_PDEATHSIG}, int(signal.SIGKILL), 0, 0, 0)
except (OSError, AttributeError):
    pass
parent = int(os.environ.get("JPY_PARENT_PID") or 0)
if parent and os.getppid() != parent:
    sys.exit(1)
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> bool:
    """Have this process receive ``sig`` when its parent exits (Linux ``PR_SET_PDEATHSIG``).

    Exits at once (status 1) when the parent is no longer ``parent_pid``: it died before the
    request was made. Returns whether the request could be made (``False`` off Linux).
    """
    try:
        ok = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        ok = False
    if os.getppid() != parent_pid:
        os._exit(1)
    return ok


class ProjectKernelManager(AsyncKernelManager):
    """An ``ipykernel`` in the current interpreter, talking over IPC sockets."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
    _ipc_dir: str | None = None

    @default("ip")
    def _ip_default(self) -> str:
        if self.transport == "ipc":
            if self._ipc_dir is None:
                # short path: Unix socket paths are limited to ~107 bytes
                self._ipc_dir = tempfile.mkdtemp(prefix="pe-k")
            return os.path.join(self._ipc_dir, "k")
        return super()._ip_default()

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[sys.executable, "-c", KERNEL_BOOT, "-f", "{connection_file}"],
                display_name="pairing-eval (current interpreter)",
                language="python",
                resource_dir="",
            )
        return self._kernel_spec

    @property
    def ipykernel(self) -> bool:
        return True

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
        # the kernel's own stdout/stderr (shutdown chatter, C-level warnings, a crash) go to a log
        # file the driver reads when a report fails, not to the user's terminal
        log = os.environ.get(KERNEL_LOG)
        if log and "stderr" not in kw:
            fh = open(log, "ab")  # noqa: SIM115 - the kernel process holds it; closed with us
            self._log_handle = fh
            kw = {**kw, "stdout": fh, "stderr": fh}
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        fh = getattr(self, "_log_handle", None)
        if not restart and fh is not None:
            fh.close()
            self._log_handle = None
        if not restart and self._ipc_dir:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None
