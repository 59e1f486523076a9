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
from collections.abc import Mapping
from typing import Any

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


# ---- warm kernels ----------------------------------------------------------------------------
#
# A cold report pays the kernel start and the imports (about 2.4 s on a 2-core machine) before it
# does any work. A :class:`KernelPool` keeps kernels alive in the process that runs reports (a
# local pool worker or a Dask worker) and runs report after report in them. Before every report
# the kernel's state is put back to what a cold kernel has just after the imports
# (:func:`kernel_reset`): a fresh user namespace, execution count 1 and no history, every figure
# closed and matplotlib's rcParams, the warning filters and their "already shown" registries,
# the environment, the working folder, ``sys.path``, numpy's error state, the package's
# ``functools`` caches and the random states (``random``, numpy's global generator: reseeded
# from the operating system, as a new process is) as they were. A kernel that fails a report is
# shut down, and the report is run again in a new kernel when the failed kernel had run other
# reports before (state from an earlier county can never turn into a failure); a kernel retires
# after :data:`MAX_RUNS` reports.

#: reports a kept kernel runs before it is replaced by a new one (bounds slow memory growth)
MAX_RUNS = 100
#: idle kernels a pool keeps (a process runs as many reports at once as it has threads)
MAX_IDLE = 4
#: modules a kept kernel imports once, right after it starts (what the report notebooks import)
WARM_IMPORTS = ("numpy", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn", "analysis.plots",
                "analysis.reports.sections")
#: seconds to wait for a kept kernel's start, warm-up or reset
KERNEL_TIMEOUT = 120

#: the kernel's state just after the imports (filled by :func:`kernel_snapshot`, in the kernel)
_SNAPSHOT: dict[str, object] = {}


def kernel_snapshot() -> None:
    """Runs inside a kept kernel once, after :data:`WARM_IMPORTS`: remember the state that
    :func:`kernel_reset` restores before each report."""
    import gc
    import warnings

    import matplotlib
    import numpy as np

    _SNAPSHOT.update(
        rc=matplotlib.rcParams.copy(),
        filters=list(warnings.filters),
        environ=dict(os.environ),
        path=list(sys.path),
        seterr=np.geterr(),
    )
    # what the imports built lives as long as the kernel: move it out of the collector's sight
    # (``gc.freeze``), so the full collections of every reset (IPython's and ours) walk only what
    # reports create. They took about 0.23 s a report, a quarter of a warm Sichuan county page.
    gc.collect()
    gc.freeze()


def kernel_reset(root: str, cwd: str, env_root: str) -> None:
    """Runs inside a kept kernel before each report: the state of a cold kernel after the imports
    (see the comment above :data:`MAX_RUNS`), with ``env_root`` = ``root`` in the environment and
    ``cwd`` as working folder, as a cold kernel started for the report would have."""
    import gc
    import random
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    from IPython import get_ipython

    plt.close("all")
    shell = get_ipython()
    if shell is not None:
        # user namespace, In/Out, `_` and friends; execution count back to 1, a new history session
        shell.reset(new_session=True, aggressive=False)
    rc = _SNAPSHOT["rc"]
    update_raw = getattr(matplotlib.rcParams, "_update_raw", None)
    if update_raw is not None:
        update_raw(rc)
    else:  # pragma: no cover - matplotlib < 3.9
        dict.update(matplotlib.rcParams, rc)
    warnings.filters[:] = list(_SNAPSHOT["filters"])  # type: ignore[call-overload]
    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()  # every module's "already shown" registry is stale from now on
    warnings.onceregistry.clear()
    for name, module in list(sys.modules.items()):
        registry = getattr(module, "__warningregistry__", None)
        if isinstance(registry, dict):
            registry.clear()
        if name == "analysis" or name.startswith("analysis."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear) and hasattr(value, "__wrapped__"):
                    clear()
    os.environ.clear()
    os.environ.update(_SNAPSHOT["environ"])  # type: ignore[arg-type]
    os.environ[env_root] = root
    os.chdir(cwd)
    sys.path[:] = list(_SNAPSHOT["path"])  # type: ignore[call-overload]
    np.seterr(**_SNAPSHOT["seterr"])  # type: ignore[arg-type]
    random.seed()
    np.random.seed()  # noqa: NPY002 - the legacy global generator, as a new process seeds it
    gc.collect()  # weakly keyed caches of results the old namespace held


class KeptKernel:
    """One kernel kept alive by a :class:`KernelPool`: its manager, its log and how many reports
    it has run."""

    def __init__(self, km: ProjectKernelManager, folder: str) -> None:
        self.km = km
        self.folder = folder
        self.runs = 0

    @property
    def log(self) -> str:
        return os.path.join(self.folder, "kernel.log")

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:
            return False

    def run_silently(self, code: str) -> None:
        """Execute ``code`` without a trace in the history or the execution count; raises
        ``RuntimeError`` with the error when it fails."""
        kc = self.km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=KERNEL_TIMEOUT)
            reply = kc.execute_interactive(code, silent=True, store_history=False,
                                           timeout=KERNEL_TIMEOUT, output_hook=lambda _msg: None)
        finally:
            kc.stop_channels()
        content = reply["content"]
        if content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")

    def reset(self, root: str, cwd: str, env_root: str) -> None:
        import json

        args = ", ".join(json.dumps(a) for a in (root, cwd, env_root))
        self.run_silently(f"import analysis.reports.kernel as __pe_k\n__pe_k.kernel_reset({args})")

    def close(self) -> None:
        from jupyter_core.utils import run_sync

        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: S110 - already gone; its process dies with its parent anyway
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


class KernelPool:
    """Kernels kept alive in this process, run report after report (see :data:`MAX_RUNS`).

    Kernels are started from one long-lived thread of the pool: Linux's parent-death signal
    (:func:`die_with_parent`, asked for by each kernel) fires when the *thread* that started the
    kernel ends, and the threads a Dask worker runs tasks in may come and go.
    """

    def __init__(self, max_idle: int = MAX_IDLE) -> None:
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.max_idle = max_idle
        self._idle: list[KeptKernel] = []
        self._lock = threading.Lock()
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pe-kernels")
        self.started = 0

    def _start(self, env: dict[str, str], cwd: str) -> KeptKernel:
        from jupyter_core.utils import run_sync

        folder = tempfile.mkdtemp(prefix="pe-kept-")
        saved = dict(os.environ)
        os.environ.update(env)
        os.environ[KERNEL_LOG] = os.path.join(folder, "kernel.log")
        km = ProjectKernelManager()
        try:
            # the arguments and working folder nbclient gives a kernel it starts itself
            run_sync(km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"],
                                      cwd=cwd)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            os.environ.clear()
            os.environ.update(saved)
        kernel = KeptKernel(km, folder)
        try:
            kernel.run_silently("\n".join(f"import {m}" for m in WARM_IMPORTS)
                                + "\nimport analysis.reports.kernel as __pe_k\n"
                                "__pe_k.kernel_snapshot()\ndel __pe_k")
        except BaseException:
            kernel.close()
            raise
        self.started += 1
        return kernel

    def acquire(self, *, root: str, cwd: str, env: Mapping[str, str]) -> KeptKernel:
        """An idle kernel (reset for a report with this project ``root`` and working folder
        ``cwd``) or a new one started with ``env`` added to this process's environment."""
        from ..paths import ENV_ROOT

        while True:
            with self._lock:
                kernel = self._idle.pop() if self._idle else None
            if kernel is None:
                kernel = self._launcher.submit(self._start, dict(env), cwd).result()
            try:
                kernel.reset(root, cwd, ENV_ROOT)
                return kernel
            except Exception:
                kernel.close()  # a kernel that cannot be reset is replaced by a new one
                if kernel.runs == 0:
                    raise

    def release(self, kernel: KeptKernel, *, ok: bool) -> None:
        """Give a kernel back after a report: kept when the report worked, the kernel is alive and
        has run fewer than :data:`MAX_RUNS` reports; shut down otherwise."""
        kernel.runs += 1
        keep = ok and kernel.runs < MAX_RUNS and kernel.alive()
        with self._lock:
            if keep and len(self._idle) < self.max_idle:
                self._idle.append(kernel)
                return
        kernel.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for kernel in idle:
            kernel.close()
        self._launcher.shutdown(wait=False)


_POOL: KernelPool | None = None


def kernel_pool() -> KernelPool:
    """This process's pool of kept kernels (created on first use, shut down at exit)."""
    global _POOL
    if _POOL is None:
        import atexit
        from multiprocessing import util

        _POOL = KernelPool()
        atexit.register(_POOL.close)
        # multiprocessing children end with os._exit: atexit does not run there, finalizers do
        util.Finalize(_POOL, _POOL.close, exitpriority=10)
    return _POOL


ENGINE = "pairing-eval-kept"


def kept_kernel_engine() -> str:
    """Register (once) and name the papermill engine that runs a notebook in a kernel it does not
    own (``km=``) and closes its own kernel client afterwards: papermill's default engine leaves
    the client's sockets open when the kernel manager is not its own."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class KeptKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                     stdout_file: Any = None, stderr_file: Any = None,
                                     start_timeout: int = 60, execution_timeout: Any = None,
                                     **kwargs: Any) -> Any:
            kwargs = remove_args(["input_path"], **kwargs)
            safe = remove_args(["timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(safe, timeout=execution_timeout or kwargs.get("timeout"),
                                 startup_timeout=start_timeout, kernel_name=kernel_name,
                                 log=logger, log_output=log_output, stdout_file=stdout_file,
                                 stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, **final)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()
                    client.kc = None

    if ENGINE not in papermill_engines._engines:
        papermill_engines.register(ENGINE, KeptKernelEngine)
    return ENGINE
