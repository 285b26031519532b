"""Stop strings: cut generated text before the first stop, the same way for streams and batches.

Matching uses one Aho-Corasick automaton over all stop strings, so each new character costs
amortised constant time however many stops there are. A stop is "found" at the first position
where some stop string *ends*; if several end there, the longest wins (it starts earliest). The
output is everything before that stop. A stream holds back only the longest tail that is still a
prefix of some stop, so no stop string, nor any part of one, ever reaches the output.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["CHAT_STOPS", "FALLBACK_STOPS", "StopMatcher", "truncate_at_stop"]

CHAT_STOPS: tuple[str, ...] = ("\nHuman:", "\nAssistant:", "\nUser:", "\nYou:")
"""Stops of every chat request, with or without a chat template: small chat models often run on
into a made-up next turn, which must never reach the answer. Raw completions do not use them."""

FALLBACK_STOPS = CHAT_STOPS
"""The turn markers of the fallback ``Human:`` / ``Assistant:`` transcript (the same stops)."""


class _Automaton:
    """Aho-Corasick automaton: trie nodes with failure links and longest-match lengths."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.children: list[dict[str, int]] = [{}]
        self.fail: list[int] = [0]
        self.depth: list[int] = [0]
        self.match: list[int] = [0]  # length of the longest stop ending at this node, 0 if none
        for stop in stops:
            self._insert(stop)
        self._link()

    def _insert(self, stop: str) -> None:
        node = 0
        for ch in stop:
            nxt = self.children[node].get(ch)
            if nxt is None:
                nxt = len(self.children)
                self.children[node][ch] = nxt
                self.children.append({})
                self.fail.append(0)
                self.depth.append(self.depth[node] + 1)
                self.match.append(0)
            node = nxt
        self.match[node] = len(stop)

    def _link(self) -> None:
        queue = list(self.children[0].values())
        for node in queue:  # breadth first: a node's failure target is always shallower
            for ch, child in self.children[node].items():
                target = self.fail[node]
                while target and ch not in self.children[target]:
                    target = self.fail[target]
                self.fail[child] = self.children[target].get(ch, 0)
                if not self.match[child]:
                    self.match[child] = self.match[self.fail[child]]
                queue.append(child)

    def step(self, node: int, ch: str) -> int:
        """The state after reading ``ch`` in state ``node``."""
        children = self.children
        while node and ch not in children[node]:
            node = self.fail[node]
        return children[node].get(ch, 0)


class StopMatcher:
    """Incremental stop-string matcher: feed token texts, get the text that is safe to emit."""

    def __init__(self, stops: Sequence[str]) -> None:
        unique = tuple(dict.fromkeys(s for s in stops if s))
        self._automaton = _Automaton(unique) if unique else None
        self._state = 0
        self._held = ""
        self._stopped = False
        self._matched: str | None = None

    @property
    def stopped(self) -> bool:
        """Whether a stop string has been found."""
        return self._stopped

    @property
    def matched(self) -> str | None:
        """The stop string that was found, if any."""
        return self._matched

    @property
    def held(self) -> str:
        """The tail held back because it could still begin a stop string."""
        return self._held

    def feed(self, text: str) -> tuple[str, bool]:
        """Add generated text; return the text safe to emit now and whether a stop was found."""
        if self._stopped:
            return "", True
        automaton = self._automaton
        if automaton is None:
            return text, False
        pending = self._held + text
        offset = len(self._held)
        state = self._state
        step, match = automaton.step, automaton.match
        for i, ch in enumerate(text):
            state = step(state, ch)
            length = match[state]
            if length:
                end = offset + i + 1
                self._stopped = True
                self._matched = pending[end - length : end]
                self._held = ""
                self._state = 0
                return pending[: end - length], True
        self._state = state
        keep = automaton.depth[state]
        cut = len(pending) - keep
        self._held = pending[cut:]
        return pending[:cut], False

    def flush(self) -> str:
        """End of stream without a stop: release whatever is held back."""
        held, self._held, self._state = self._held, "", 0
        return "" if self._stopped else held


def truncate_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Cut a whole text before its first stop string; return the text and whether one was found."""
    matcher = StopMatcher(stops)
    out, stopped = matcher.feed(text)
    return (out, True) if stopped else (out + matcher.flush(), False)
