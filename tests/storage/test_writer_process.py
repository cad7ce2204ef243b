"""The SQLite writer's child process lives and dies with its parent."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

SCRIPT = """
import asyncio, sys
from opencsms.storage import Storage

async def main():
    store = await Storage.open(sys.argv[1])
    child = store.writer._sqlite.child_pid
    print(child, flush=True)
    await asyncio.Event().wait()

if __name__ == "__main__":
    asyncio.run(main())
"""


async def _exited(pid: int, within: float) -> bool:
    """Wait for process ``pid`` to exit, event-driven through a pidfd (Linux)."""
    pidfd = os.pidfd_open(pid)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(pidfd, lambda: done.done() or done.set_result(True))
    try:
        async with asyncio.timeout(within):
            await done
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


async def test_child_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SCRIPT,
        f"sqlite:///{tmp_path / 'orphan.db'}",
        stdout=asyncio.subprocess.PIPE,
    )
    assert parent.stdout is not None
    async with asyncio.timeout(20):
        child = int((await parent.stdout.readline()).decode())
    parent.kill()  # SIGKILL: the parent cannot close its child
    await parent.wait()
    assert await _exited(child, within=5.0), f"writer child {child} outlived its parent"
