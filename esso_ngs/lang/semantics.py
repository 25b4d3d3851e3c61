"""ESSO's arithmetic on Python ints: the single definition every evaluator follows.

Unbounded integers; `div`/`mod` are Euclidean (remainder always >= 0), and a zero
divisor gives 0 for both (`safe_div`/`safe_mod` are the same functions).
"""
from __future__ import annotations


def euclid_div(a: int, b: int) -> int:
    if b == 0:
        return 0
    if b > 0:
        return a // b
    return -(a // -b)


def euclid_mod(a: int, b: int) -> int:
    if b == 0:
        return 0
    return a - b * euclid_div(a, b)
