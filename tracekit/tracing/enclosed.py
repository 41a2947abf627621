"""Decorated generators as enclosing calls: the LLM calls traced while they run count there.

A `@trace_llm_call` generator runs its body only as it is iterated, after the decorated call
returned, so the ContextVar that makes a plain decorated function the enclosing call of the
traced calls inside it (`llm_call.Enclosing`) is set around each step instead. Once a call inside
was traced by its own tracer (an instrumented stream the generator re-yields, say), the
generator's own record is dropped, so each LLM call is recorded once, by its innermost tracer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

from tracekit.tracing.llm_call import ENCLOSING, Enclosing, LLMCall

__all__ = ["enclosed_agen", "enclosed_gen"]


def enclosed_gen(gen: Generator[Any, Any, Any], call: LLMCall) -> Generator[Any, Any, Any]:
    """`gen`, each step run as `call`'s enclosing call; `send`, `throw` and `close` reach `gen`
    as they would without this wrapper."""
    enclosing = Enclosing(call.spec.agent, call.announced)
    set_enclosing, reset = ENCLOSING.set, ENCLOSING.reset
    value: Any = None
    thrown: BaseException | None = None
    while True:
        token = set_enclosing(enclosing)
        try:
            item = gen.send(value) if thrown is None else gen.throw(thrown)
        except StopIteration as stop:
            return stop.value
        finally:
            reset(token)
            if enclosing.calls:
                call.drop()
        thrown = None
        try:
            value = yield item
        except GeneratorExit:
            gen.close()
            raise
        except BaseException as exc:  # thrown into this generator: passed on to `gen`
            thrown, value = exc, None


async def enclosed_agen(agen: AsyncGenerator[Any, Any], call: LLMCall) -> AsyncGenerator[Any, Any]:
    """`agen`, each step run as `call`'s enclosing call; `asend`, `athrow` and `aclose` reach
    `agen` as they would without this wrapper."""
    enclosing = Enclosing(call.spec.agent, call.announced)
    set_enclosing, reset = ENCLOSING.set, ENCLOSING.reset
    value: Any = None
    thrown: BaseException | None = None
    while True:
        token = set_enclosing(enclosing)
        try:
            item = await (agen.asend(value) if thrown is None else agen.athrow(thrown))
        except StopAsyncIteration:
            return
        finally:
            reset(token)
            if enclosing.calls:
                call.drop()
        thrown = None
        try:
            value = yield item
        except GeneratorExit:
            await agen.aclose()
            raise
        except BaseException as exc:  # thrown into this generator: passed on to `agen`
            thrown, value = exc, None
