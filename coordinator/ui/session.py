"""The open study as the screens share it: the service, the day being looked at, and news of changes.

Screens receive the session in their constructor and reach data only through
``session.service`` (no SQL in ``ui/``). After a write they call
``session.changed.emit(change)``; each open screen decides whether to refresh.
"""

from __future__ import annotations

import datetime as dt
import queue
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from coordinator.service import Change, Service

CLOCK_INTERVAL_MS = 30_000
RESULTS_INTERVAL_MS = 5  # how soon a worker's result is shown; the timer runs only while one is awaited


class Session(QObject):
    """Signals:
        changed(object): a ``Change`` after a write was saved: to subjects' records (its
            ``subject_ids``), or to the study as a whole (an account, a print: only the audit trail).
        day_changed(object): the day being looked at moved (the date control), or midnight passed
            ('today' moved, and the day looked at with it if it was today): what the screens show by
            day is out of date. Once per midnight.
    """

    changed = Signal(object)
    day_changed = Signal(object)

    def __init__(self, service: Service, path: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self.path = Path(path)
        self._day = service.today
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="reader")
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0
        self._results_timer = QTimer(self)
        self._results_timer.setInterval(RESULTS_INTERVAL_MS)
        self._results_timer.timeout.connect(self._on_results_timer_timeout)
        self._clock = QTimer(self)
        self._clock.setInterval(CLOCK_INTERVAL_MS)
        self._clock.timeout.connect(self._on_clock_timeout)
        self._clock.start()

    @property
    def day(self) -> dt.date:
        return self._day

    def set_day(self, day: dt.date) -> None:
        if day != self._day:
            self._day = day
            self.day_changed.emit(day)

    def notify(self, change: Change) -> None:
        """Tell the screens of every write that saved something (each has its audit row); one
        that changed nothing (a tick ticked again) tells no one."""
        if not change.nothing:
            self.changed.emit(change)

    def run_in_background(self, owner: QObject, read, done, failed) -> None:
        """Run ``read(service)`` (a read, or a long write such as an import, which is one
        transaction either way) on a worker thread with its own connection (SQLite connections
        belong to one thread; WAL lets it read while this one writes); ``done(result)`` or
        ``failed(exception)`` then run on the GUI thread, unless ``owner`` (the screen that
        asked) was deleted meanwhile.

        Results come back through a queue that a GUI-thread timer drains: the worker never
        touches a Qt object, so no signal has to cross threads and a screen closed meanwhile
        is simply skipped."""
        args = (self.path, self.service.user, self.service.today, self.service.account, self.service.protocol)
        self._pending += 1
        self._results_timer.start()
        self._pool.submit(_read, args, read, _if_alive(owner, done), _if_alive(owner, failed), self._results)

    def _on_results_timer_timeout(self) -> None:
        while True:
            try:
                callback, value = self._results.get_nowait()
            except queue.Empty:
                break
            self._pending -= 1
            callback(value)
        if self._pending <= 0:
            self._results_timer.stop()

    def check_clock(self, now: dt.date | None = None) -> None:
        """Midnight passed: 'today' moves, and the day looked at with it if it was today; the
        screens hear it once (``day_changed``), whether or not the day looked at moved."""
        now = now or dt.date.today()
        old = self.service.today
        if now == old:
            return
        self.service.today = now
        if self._day == old:
            self._day = now
        self.day_changed.emit(self._day)

    def _on_clock_timeout(self) -> None:
        self.check_clock()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._clock.stop()
        self._results_timer.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.service.close()


def _if_alive(owner: QObject, callback):
    return lambda value: callback(value) if shiboken6.isValid(owner) else None


def _read(args, read, done, failed, results: queue.SimpleQueue) -> None:
    path, user, today, account, protocol = args
    try:
        # the log-in this window checked, and its protocol (not parsed again while it is the one stored)
        service = Service.open(path, user=user, today=today, account=account, protocol=protocol)
        try:
            result = read(service)
        finally:
            service.close()
    except Exception as exc:  # handed to the GUI thread, which shows it
        results.put((failed, exc))
    else:
        results.put((done, result))
