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

nbclient accepts ``kernel_manager_class`` as an option and papermill passes engine keyword
arguments through to nbclient, so the driver calls
``papermill.execute_notebook(..., kernel_manager_class=ProjectKernelManager)``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum, default

#: environment variable naming a file that receives the kernel process's stdout and stderr
KERNEL_LOG = "PAIRING_EVAL_KERNEL_LOG"


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
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
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
