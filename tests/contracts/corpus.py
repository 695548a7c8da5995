"""The conformance corpus: programs in the contract subset, each with a ``main()``.

Every program is run both in the VM and in plain CPython; results (tuples as lists) or the error
class must be identical. ``python -m tests.contracts.corpus`` prints one JSON line per program
with the VM's result and gas (used by the PYTHONHASHSEED determinism test).
"""

from __future__ import annotations

import json
import sys
from typing import Any

# One-expression programs: ``def main(): return <expr>``.
EXPRESSIONS: list[str] = [
    "1 + 2 * 3 - 4",
    "7 // 2, -7 // 2, 7 // -2, -7 // -2",
    "7 % 3, -7 % 3, 7 % -3, -7 % -3",
    "2 ** 10, 3 ** 0, 0 ** 0, (-2) ** 3",
    "2 ** 100",
    "10 ** 30 // 7",
    "-(5), +(5), -(-5)",
    "not 0, not 1, not '', not 'a', not [], not [0]",
    "1 and 2, 0 and 2, 1 or 2, 0 or 2, '' or 'x', [] and 1",
    "1 < 2 < 3, 1 < 3 < 2, 3 > 2 > 1, 1 <= 1 < 2",
    "1 == 1, 1 != 1, 0 == False",
    "'a' < 'b', 'abc' < 'abd', 'Z' < 'a', '' < 'a'",
    "[1, 2] < [1, 3], [1, 2] < [1, 2, 0], (1, 2) == (1, 2)",
    "[1, [2, 3]] == [1, [2, 3]], {'a': 1} == {'a': 1}, {'a': 1} != {'a': 2}",
    "3 in [1, 2, 3], 4 not in [1, 2, 3], 'b' in 'abc', 'a' in {'a': 1}",
    "(1, 2) in [(1, 2)], [1] in [[1]], 5 in range(10), 10 in range(10)",
    "None is None, 1 is not None, None is not None",
    "True + True, True * 3, False - 1",
    "len('hello'), len([1, 2]), len({}), len(range(5)), len(())",
    "list(range(5)), list(range(2, 10, 3)), list(range(10, 0, -2))",
    "min(3, 1, 2), max(3, 1, 2), min([4, 5]), max('abc')",
    "min([], default=7), max([1, 2], key=lambda x: -x)",
    "sum([1, 2, 3]), sum([]), sum(range(101)), sum([1, 2], 10)",
    "abs(-5), abs(5), abs(0), abs(-10 ** 20)",
    "sorted([3, 1, 2]), sorted('bca'), sorted([3, 1, 2], reverse=True)",
    "sorted(['bb', 'a', 'ccc'], key=lambda s: len(s))",
    "sorted([(2, 'b'), (1, 'z'), (2, 'a')])",
    "sorted([{'n': 2}, {'n': 1}], key=lambda d: d['n'])",
    "sorted([5, 3, 5, 1], key=lambda v: v % 2, reverse=True)",
    "list(reversed([1, 2, 3])), list(reversed('abc')), list(reversed(range(3)))",
    "list(enumerate('ab')), list(enumerate(['x', 'y'], 1))",
    "list(zip([1, 2, 3], 'ab')), list(zip()), list(zip([1], [2], [3]))",
    "any([0, 0, 1]), any([]), all([1, 2]), all([]), all([1, 0])",
    "int('42'), int(' -7 '), int('ff', 16), int(True), int('1_000')",
    "str(42), str(-3), str(None), str(True), str([1, 'a']), str({'a': (1,)})",
    "bool(0), bool(''), bool([1]), bool({}), bool('x'), bool()",
    "list('abc'), list((1, 2)), list({'a': 1, 'b': 2}), list()",
    "tuple([1, 2]), tuple('ab'), tuple()",
    "dict([('a', 1), ('b', 2)]), dict(a=1, b=2), dict({'x': 1}, y=2), dict()",
    "isinstance(1, int), isinstance(True, int), isinstance('a', (int, str)), isinstance([], dict)",
    "isinstance(None, int), isinstance((1,), tuple), isinstance({}, dict), isinstance(True, bool)",
    "divmod(17, 5), divmod(-17, 5), divmod(17, -5)",
    "'Hello'.lower(), 'Hello'.upper(), '  x  '.strip(), 'xxaxx'.strip('x')",
    "'a,b,,c'.split(','), ' a  b '.split(), 'a-b-c'.split('-', 1)",
    "'-'.join(['a', 'b', 'c']), ''.join([]), ', '.join('xyz')",
    "'hello'.startswith('he'), 'hello'.endswith('lo'), 'hello'.startswith(('x', 'h'))",
    "'aaa'.replace('a', 'b'), 'aaa'.replace('a', 'b', 2), 'abc'.replace('', '-')",
    "'hello'.find('l'), 'hello'.find('z'), 'hello'.find('l', 3)",
    "'banana'.count('a'), 'banana'.count('an'), 'banana'.index('n')",
    "'{} + {} = {}'.format(1, 2, 3), '{0}{1}{0}'.format('a', 'b'), '{x}!'.format(x=5)",
    "'{:>5}|{:<5}|{:^5}'.format('a', 'b', 'c'), '{:05d}'.format(42), '{:,}'.format(1234567)",
    "'{!r}'.format('q'), '{:x}'.format(255), '{:b}'.format(5), '{{}}'.format()",
    "'123'.isdigit(), 'abc'.isalpha(), 'a1'.isalnum(), ''.isdigit()",
    "'  a '.lstrip(), '  a '.rstrip()",
    "f'{1 + 1}', f'{\"x\"!r}', f'{[1, 2]}', f'{None}'",
    "f'{42:>6}', f'{42:<6}|', f'{42:06}', f'{-42:+}', f'{255:#x}', f'{1000000:_}'",
    "f'{\"ab\":*^7}', f'{\"abcdef\":.3}', f'{True}', f'{(1, \"a\")}'",
    "'abc'[0], 'abc'[-1], 'abcdef'[1:4], 'abcdef'[::-1], 'abcdef'[::2]",
    "[1, 2, 3][1], [1, 2, 3][-1], [1, 2, 3, 4][1:3], [1, 2, 3][:], [1, 2, 3][5:]",
    "(1, 2, 3)[1:], range(10)[2:5], range(10)[3], list(range(10)[::3])",
    "{'a': 1}['a'], {1: 'x'}[1], {None: 'p'}[None], {1: 'x'}[True]",
    "{'a': 1}.get('a'), {'a': 1}.get('b'), {'a': 1}.get('b', 0)",
    "list({'a': 1, 'b': 2}.keys()), list({'a': 1}.values()), list({'a': 1}.items())",
    "[x * x for x in range(6)], [x for x in range(10) if x % 3 == 0]",
    "[(x, y) for x in range(3) for y in range(x)]",
    "[[y for y in range(x)] for x in range(4)]",
    "{k: v for k, v in [('a', 1), ('b', 2)]}, {x: x * x for x in range(4) if x}",
    "[c.upper() for c in 'abc' if c != 'b']",
    "sorted({'b': 1, 'a': 2}), sorted({'b': 1, 'a': 2}.items())",
    "1 if True else 2, 1 if 0 else 2, 'y' if [] else 'n'",
    "[1, 2] + [3], (1,) + (2,), 'ab' + 'cd', [0] * 3, 'ab' * 3, 3 * (1,)",
    "[1] * 0, 'x' * -1, [] * 5",
    "max([(1, 'b'), (1, 'a')]), min(['b', 'a', 'c'])",
    "max({'x': 3, 'y': 9}, key=lambda k: {'x': 3, 'y': 9}[k])",
    "2 ** 64 - 1, -(2 ** 63), 2 ** 62 + 2 ** 62, 12345678901234567890 * 98765432109876543210",
    "(2 ** 100) // (2 ** 50), (2 ** 100) % 1000007, divmod(10 ** 40, 7)",
    "[10 ** i for i in range(0, 40, 10)]",
    "str(2 ** 200), int(str(3 ** 100)) == 3 ** 100",
    "'%d' if False else 'ok'",
    "[1, 2, 3].index(2), [1, 2, 1].count(1), (1, 2, 1).count(1), (5, 6).index(6)",
    "'abc' == 'abc', 'abc' != 'abd', [] == [], () == (), {} == {}",
    "'x'.join([str(i) for i in range(3)])",
    "len([[]] * 3), [[]] * 2",
    "1 < 2 == 2 > 1, 1 == 1 == 1, 1 != 2 != 1",
    "(1 < 2) + (2 < 1), (1 == 1) * 5",
    "[i for i in range(3)] == list(range(3))",
    "sum([[1], [2]], []), sum([(1,), (2,)], ())",
    "{'a': [1, 2], 'b': {'c': None}}",
    "((1, 2), [3, (4, 5)]), ()",
    "'Ab' * 2 + 'c', 'abc'.upper().lower()",
    "sorted([3, 1, 2])[::-1], sorted(range(5), key=lambda x: (x % 2, -x))",
    "min(range(10), key=lambda x: (x - 4) ** 2), max(range(5), key=lambda x: x % 3)",
    "'a b c'.split(' ', -1), 'abc'.split('b')",
    "list(enumerate(range(3), start=5))",
    "int('-0'), int('+12'), int('0x1f', 16), int('101', 2), int('z', 36)",
    "-7 // 1, 0 // 5, 0 % 5, 5 % 5, -1 % 10",
    "[1, 2, 3][-3], [1, 2, 3][::-2], 'hello'[1:-1]",
    "sorted(['B', 'a', 'C'], key=lambda s: s.lower())",
    "any([x > 3 for x in range(5)]), all([x < 5 for x in range(5)])",
    "dict(zip(['a', 'b'], [1, 2]))",
    "'{0:>3}'.format('x')",
    "str(['é', '\\n', '\\x00'])",
    "str({'k': [True, None, -1]}), str((1,)), str(())",
    "str(range(3)), str(range(1, 5, 2)), str({}.keys()), str({'a': 1}.items())",
    "len({}.keys()), 'a' in {'a': 1}.keys(), 1 in {'a': 1}.values(), ('a', 1) in {'a': 1}.items()",
    "list(range(-5)), list(range(0)), len(range(0, 100, 7))",
    "sorted([]), sorted([1]), min([0]), max([0])",
    "[] or [1], [1] and [], None or 0, 0 or None",
    "'x' < 'xy', [] < [0], (1,) < (1, 0), [2] > [1, 9]",
    "10 ** 18 + 1 > 10 ** 18, -10 ** 30 < 10 ** 30",
    "{'b': 1, 'a': 2}",
    "{1: 'a', 'b': 2, None: None, True: 5}",
    "[x for x in 'hello' if x in 'aeiou']",
    "[(i, c) for i, c in enumerate('ab')]",
    "sum([x for x in range(1000) if x % 3 == 0 or x % 5 == 0])",
    "sorted([('b', 2), ('a', 2), ('c', 1)], key=lambda p: p[1])",
    "'ß'.upper(), 'İ'.lower(), 'ǅ'.upper()",
    "len('日本語'), '日本語'[1], '日本語'.find('語')",
    "'a\\tb'.split(), 'a\\nb\\n'.split('\\n')",
    "divmod(-7, 2), divmod(7, 7), divmod(0, 3)",
    "max(1, 2, key=lambda x: -x), min('ab', 'c', key=lambda s: len(s))",
    "int('  12  '), str(int('007'))",
    "list(range(3)) * 2, (0,) * 3",
    "abs(True), abs(-0), -True",
    "'a' <= 'q' <= 'z', 'a' <= 'Q' <= 'z', 'b' < 'abc' < 'c', 'x' > 'w' >= 'w', 3 < 5 <= 5",
    "[c for c in 'Hello, World' if 'a' <= c <= 'z'], [n for n in [0, 5, 12] if 1 <= n < 10]",
    "'abc'.find('z') != -1, 'abc'.find('c') == -1, 'x'.find('x') < -1, -2 <= 'ab'.find('b'), [-1] != -1",
]

# Expressions that must fail with the given CPython error class in both.
FAILING: list[str] = [
    "1 // 0",
    "1 % 0",
    "divmod(1, 0)",
    "[1, 2][5]",
    "'abc'[10]",
    "(1,)[1]",
    "{'a': 1}['b']",
    "{}[(1, 2)]",
    "int('abc')",
    "int('')",
    "int('12', 1)",
    "'a' + 1",
    "1 + 'a'",
    "[1] + (2,)",
    "None + 1",
    "{} + {}",
    "[1] - [1]",
    "'a' * 'b'",
    "[] * []",
    "-'a'",
    "+[]",
    "1 < 'a'",
    "[1] < ['a']",
    "None < None",
    "{} < {}",
    "[].pop()",
    "[1, 2].index(5)",
    "'abc'.index('z')",
    "[1, 2].remove(3)",
    "min([])",
    "max([])",
    "min(1)",
    "sum(['a', 'b'])",
    "sum([1, 'a'])",
    "len(5)",
    "list(5)",
    "sorted([1, 'a'])",
    "dict([([1], 2)])",
    "{}.get([1])",
    "'x' in 5",
    "1 in 'abc'",
    "5 in 5",
    "'abc'.append(1)",
    "[].lower()",
    "{}.append(1)",
    "(1, 2).append(3)",
    "'{}{}'.format(1)",
    "'{0}{}'.format(1, 2)",
    "'{x}'.format(y=1)",
    "'{:d}'.format('a')",
    "f'{\"a\":d}'",
    "f'{[1]:>5}'",
    "'a,b'.split('')",
    "int('1' * 10, 2) + 'x'",
    "abs('x')",
    "divmod('a', 1)",
    "range(1, 2, 0)",
    "range('a')",
    "list(range(3))[1:2:0]",
    "'abc'['a']",
    "[1][None]",
    "{'a': 1}.pop('b')",
    "dict([1, 2])",
    "dict(5)",
    "tuple(3)",
    "isinstance(1, int) + None",
    "list(zip([1], 5))",
    "sorted(5)",
    "enumerate(5)",
    "reversed(5)",
    "any(3)",
    "all(None)",
    "'-'.join([1, 2])",
    "'a'.startswith(1)",
    "'a'.replace(1, 'b')",
    "'a'.find(None)",
    "(1, 2, 3).index(9)",
    "str(1, 2, 3)",
    "[1, 2, 3]['1']",
    "[1].split(',')",
    "(5).format(1)",
    "'-'.join([1, 2])",
    "'-'.join(x for x in [1])",
    "'a' <= 5 <= 'z'",
    "1 < 'x' < 2",
    "[1] < 'abc'",
]

# Whole programs (each defines main()).
PROGRAMS: list[str] = [
    """
def main():
    total = 0
    i = 0
    while i < 100:
        i += 1
        if i % 2 == 0:
            continue
        if i > 50:
            break
        total += i
    return total, i
""",
    """
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

def main():
    return [fib(i) for i in range(15)]
""",
    """
def main():
    a, b = 1, 2
    a, b = b, a
    (c, d), e = (3, 4), 5
    [f, g] = 'xy'
    return a, b, c, d, e, f, g
""",
    """
def main():
    xs = [5, 3, 8, 1]
    xs.append(7)
    xs.extend([2, 2])
    xs.insert(0, 9)
    xs.remove(8)
    last = xs.pop()
    first = xs.pop(0)
    xs.sort()
    ys = list(xs)
    ys.reverse()
    return xs, ys, last, first, xs.count(2), xs.index(5)
""",
    """
def main():
    d = {}
    d['a'] = 1
    d['b'] = 2
    d['a'] += 10
    d.setdefault('c', []).append(3)
    d.setdefault('c', []).append(4)
    d.update({'e': 5}, f=6)
    d.update([('g', 7)])
    popped = d.pop('b')
    missing = d.pop('zz', None)
    del d['e']
    return d, popped, missing, list(d), len(d)
""",
    """
def main():
    s = ''
    for i in range(20):
        s += str(i)
        if len(s) > 15:
            break
    else:
        s = 'never'
    return s
""",
    """
def main():
    for i in range(3):
        pass
    else:
        done = True
    n = 0
    while n < 3:
        n += 1
    else:
        n *= 10
    return done, n, i
""",
    """
def classify(x):
    if x < 0:
        return 'neg'
    elif x == 0:
        return 'zero'
    elif x < 10:
        return 'small'
    else:
        return 'big'

def main():
    return [classify(v) for v in (-5, 0, 3, 99)]
""",
    """
def main():
    grid = [[0] * 3 for r in range(3)]
    for r in range(3):
        for c in range(3):
            grid[r][c] = r * 3 + c
    grid[1][1] *= 10
    return grid
""",
    """
def main():
    counts = {}
    for word in 'the cat and the hat and the bat'.split():
        counts[word] = counts.get(word, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return top[:3], counts
""",
    """
def gcd(a, b):
    while b:
        a, b = b, a % b
    return a

def main():
    return gcd(1071, 462), gcd(17, 5), gcd(2 ** 40, 6 ** 20)
""",
    """
def main():
    primes = []
    n = 2
    while len(primes) < 25:
        if all([n % p != 0 for p in primes]):
            primes.append(n)
        n += 1
    return primes
""",
    """
def power_mod(b, e, m):
    result = 1
    b = b % m
    while e > 0:
        if e % 2 == 1:
            result = result * b % m
        e = e // 2
        b = b * b % m
    return result

def main():
    return power_mod(3, 200, 1000000007), power_mod(2, 10, 1000)
""",
    """
def main():
    x = 10
    x -= 3
    x *= 4
    x //= 3
    x %= 5
    x **= 3
    return x
""",
    """
def main():
    lst = [1, 2]
    alias = lst
    lst += [3]
    lst *= 2
    t = (1,)
    t2 = t
    t += (2,)
    return alias, t, t2, lst == alias
""",
    """
def main():
    assert 1 + 1 == 2, 'math'
    assert [1]
    return 'ok'
""",
    """
def main():
    assert 1 > 2, 'one is not bigger'
""",
    """
def main():
    assert False
""",
    """
def main():
    x = 1
    if x:
        return
    return 5
""",
    """
def main():
    pass
""",
    """
def f(a, b=10, *, c=100):
    return a + b + c

def main():
    return f(1), f(1, 2), f(1, c=3), f(a=5, b=6, c=7)
""",
    """
def f(a):
    return a

def main():
    return f(1, 2)
""",
    """
def f(a):
    return a

def main():
    return f(b=1)
""",
    """
def main():
    y = x + 1
    x = 5
    return y
""",
    """
def main():
    d = {'a': 1, 'b': 2}
    for k in d:
        d['c'] = 3
    return d
""",
    """
def main():
    items = [3, 1, 2]
    out = []
    for i, v in enumerate(items):
        out.append((i, v, items[i] == v))
    return out
""",
    """
def main():
    names = ['ann', 'bob']
    ages = [31, 25]
    return {n: a for n, a in zip(names, ages)}, [f'{n}:{a}' for n, a in zip(names, ages)]
""",
    """
def main():
    matrix = [[1, 2, 3], [4, 5, 6]]
    transposed = [[row[i] for row in matrix] for i in range(3)]
    flat = [x for row in matrix for x in row]
    return transposed, flat, sum(flat)
""",
    """
def main():
    k = 3
    return [x * k for x in range(4)], sorted(range(6), key=lambda v: abs(v - k))
""",
    """
def main():
    s = 'Hello, World'
    return s.lower().replace('o', '0').split(', '), s[7:].upper(), s.find('World')
""",
    """
def main():
    parts = []
    for i in range(5):
        parts.append(f'{i:02d}')
    return '-'.join(parts)
""",
    """
def main():
    total = 0
    for i in range(1, 101):
        total += i * i
    return total, total // 7, total % 7
""",
    """
def main():
    x = 2 ** 62
    y = x + x
    z = y * y
    return y, z, z - y, -z, z // 3
""",
    """
def main():
    acc = 1
    for i in range(1, 40):
        acc *= i
    return acc, len(str(acc))
""",
    """
def collatz(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps

def main():
    return [collatz(n) for n in range(1, 20)]
""",
    """
def main():
    stack = []
    for ch in '(()(()))':
        if ch == '(':
            stack.append(ch)
        else:
            stack.pop()
    return len(stack) == 0
""",
    """
def main():
    stack = []
    for ch in '())':
        if ch == '(':
            stack.append(ch)
        else:
            stack.pop()
    return stack
""",
    """
def main():
    budget = {'food': 500, 'school': 300}
    payments = [('food', 120), ('school', 300), ('food', 400)]
    rejected = []
    for cat, amount in payments:
        if budget[cat] >= amount:
            budget[cat] -= amount
        else:
            rejected.append((cat, amount))
    return budget, rejected
""",
    """
def main():
    data = {'x': [1, 2, {'y': (3, 4)}]}
    data['x'][2]['y'] = list(data['x'][2]['y'])
    data['x'][2]['y'].append(5)
    return data
""",
    """
def main():
    a = [1, 2, 3]
    b = a[:]
    b.append(4)
    c = a
    c.append(5)
    return a, b
""",
    """
def main():
    t = (1, [2])
    t[1].append(3)
    return t
""",
    """
def main():
    t = (1, 2)
    t[0] = 5
""",
    """
def main():
    s = 'abc'
    s[0] = 'z'
""",
    """
def main():
    d = {'a': 1}
    del d['b']
""",
    """
def main():
    xs = [1, 2, 3]
    del xs[0]
    del xs[-1]
    return xs
""",
    """
def main():
    xs = [1, 2, 3]
    del xs[5]
""",
    """
def main():
    n = 0
    for ch in 'mississippi':
        if ch in 'sp':
            n += 1
    return n, 'mississippi'.count('ss'), 'mississippi'.replace('ss', 'SS')
""",
    """
def main():
    words = ['apple', 'Banana', 'cherry']
    return sorted(words), sorted(words, key=lambda w: w.lower()), max(words, key=lambda w: len(w))
""",
    """
def main():
    r = range(0, 20, 5)
    return list(r), len(r), r[1], r[-1], 15 in r, 16 in r
""",
    """
def main():
    result = []
    for x in [3, 0, -2]:
        result.append('pos' if x > 0 else 'zero' if x == 0 else 'neg')
    return result
""",
    """
def main():
    pairs = [(1, 'one'), (2, 'two')]
    lookup = dict(pairs)
    inverse = {v: k for k, v in lookup.items()}
    return lookup, inverse, [k for k in lookup if k > 1]
""",
    """
def main():
    seen = {}
    dupes = []
    for x in [3, 1, 3, 2, 1, 3]:
        if x in seen:
            dupes.append(x)
        seen[x] = True
    return dupes, list(seen)
""",
    """
def main():
    s = 0
    for i in range(10):
        for j in range(10):
            if j > i:
                break
            s += j
    return s
""",
    """
def main():
    values = [5, -3, 12, 0, 7]
    pos = [v for v in values if v > 0]
    return min(values), max(values), sum(pos), len(pos), sorted(values)[len(values) // 2]
""",
    """
def main():
    out = {}
    for i in range(5):
        key = 'even' if i % 2 == 0 else 'odd'
        out.setdefault(key, []).append(i)
    return out
""",
    """
def main():
    a = 'x'
    b = a * 3
    c = b.upper()
    return f'{a}|{b}|{c}|{len(c)}'
""",
    """
def main():
    x = [1, 2, 3]
    y = x
    x = x + [4]
    return x, y
""",
    """
def main():
    text = 'a=1;b=2;c=3'
    result = {}
    for pair in text.split(';'):
        k, v = pair.split('=')
        result[k] = int(v)
    return result
""",
    """
def main():
    a, b = [1, 2, 3]
""",
    """
def main():
    a, b, c = (1, 2)
""",
    """
def main():
    for a, b in [(1, 2), (3,)]:
        pass
""",
    """
def main():
    n = 10
    facts = [1]
    for i in range(1, n):
        facts.append(facts[-1] * i)
    return facts
""",
    """
def main():
    x = 5
    y = -x if x > 3 else x
    return abs(y), -y, +y
""",
    """
def main():
    q = [1]
    out = []
    while q:
        v = q.pop(0)
        out.append(v)
        if v < 20:
            q.append(v * 2)
            q.append(v * 3)
    return out[:10], len(out)
""",
    """
def main():
    balances = {'alice': 100, 'bob': 50}
    def_amount = 30
    balances['alice'] -= def_amount
    balances['bob'] += def_amount
    return balances, sum(balances.values())
""",
    """
LIMITS = {'food': 100, 'rent': 500}
ORDER = ('rent', 'food')

def main():
    return [LIMITS[k] for k in ORDER], len(LIMITS)
""",
    """
MAX = 3

def main():
    out = []
    i = 0
    while True:
        i += 1
        if i > MAX:
            break
        out.append(i)
    return out
""",
    """
def main():
    a = [3, 1, 2]
    b = sorted(a)
    a.sort(reverse=True)
    c = ['b', 'A', 'c']
    c.sort(key=lambda s: s.lower())
    return a, b, c
""",
    """
def main():
    s = 'The quick brown fox'
    words = s.split()
    caps = ' '.join([w[0].upper() + w[1:] for w in words])
    return caps, len(words), words[-1][::-1]
""",
    """
def main():
    xs = []
    for i in range(5):
        xs.append(i)
        if len(xs) > 2:
            xs.pop(0)
    return xs
""",
    """
def main():
    total = 0
    for a, (b, c) in [(1, (2, 3)), (4, (5, 6))]:
        total += a * b + c
    return total
""",
    """
def main():
    x = 0
    x += True
    x += 2 ** 70
    x -= 2 ** 70
    return x, type_ok()

def type_ok():
    return isinstance(5, int) and not isinstance('5', int)
""",
    """
def main():
    return {'nested': {'deep': [[1], [2, [3, [4]]]]}}
""",
    """
def main():
    m = {}
    for i in range(20):
        m[i % 7] = m.get(i % 7, 0) + i
    return m, sorted(m.items(), key=lambda kv: kv[1])
""",
    """
def main():
    s = 'abc'
    return [s[i:j] for i in range(3) for j in range(i + 1, 4)]
""",
    """
def main():
    d = dict(a=1)
    d2 = dict(d)
    d2['b'] = 2
    return d, d2, d == d2
""",
    """
def main():
    x = 7
    x //= 0
""",
    """
def main():
    return [1, 2, 3].pop(10)
""",
    """
def main():
    return 'abc'.format(1) + '{}'.format(None)
""",
    """
def f(n):
    return 1 if n == 0 else n * f(n - 1)

def main():
    return f(30)
""",
]


# Lazy iterators (issue 9): enumerate/zip/reversed see changes made while they are walked, and
# changing a dict while iterating it raises RuntimeError, exactly as in CPython.
LAZY_PROGRAMS: list[str] = [
    """
def main():
    xs = [1, 2, 3]
    out = []
    for i, x in enumerate(xs):
        if i == 0:
            xs[1] = 20
        out.append(x)
    return out
""",
    """
def bead_sort(sequence):
    for k in range(len(sequence)):
        for i, (rod_upper, rod_lower) in enumerate(zip(sequence, sequence[1:])):
            if rod_upper > rod_lower:
                sequence[i] -= rod_upper - rod_lower
                sequence[i + 1] += rod_upper - rod_lower
    return sequence

def main():
    return bead_sort([8, 2, 1]), bead_sort([5, 0, 4, 3]), bead_sort([])
""",
    """
def main():
    d = {'a': 1}
    for k in d:
        d[k + 'x'] = 2
    return d
""",
    """
def main():
    d = {'a': 1, 'b': 2}
    for i, k in enumerate(d):
        d[k + str(i)] = i
    return d
""",
    """
def main():
    d = {'a': 1, 'b': 2}
    for k, v in zip(d, d.values()):
        del d['b']
    return d
""",
    """
def main():
    d = {'a': 1, 'b': 2}
    for k in reversed(d):
        d[k] = 5
    return d
""",
    """
def main():
    xs = [1, 2, 3, 4]
    out = []
    for x in reversed(xs):
        out.append(x)
        if len(xs) > 2:
            xs.pop()
    return out, xs
""",
    """
def main():
    xs = [1, 2]
    out = []
    for i, x in enumerate(xs):
        if i < 3:
            xs.append(x * 10)
        out.append((i, x))
    return out
""",
    """
def main():
    e = enumerate('abc', 1)
    first = [p for p in e if p[0] < 2]
    rest = list(e)
    z = zip([1, 2, 3], 'xy')
    return first, rest, list(z), list(z), list(reversed(range(4)))
""",
    """
def main():
    z = zip([1, 2, 3], [4, 5, 6])
    return 2 in z, list(z), 9 in enumerate([9])
""",
    """
def main():
    return list(zip([1, 2], [3], strict=True))
""",
    """
def main():
    return sorted(enumerate('cab'), key=lambda p: p[1]), dict(zip('ab', [1, 2])), sum(reversed([1, 2]))
""",
    """
def main():
    xs = [3, 1, 2]
    return max(enumerate(xs), key=lambda p: p[1]), min(zip(xs, 'abc')), '-'.join(reversed('abc'))
""",
    """
def main():
    return len(enumerate([1]))
""",
    """
def main():
    return reversed(enumerate([1]))
""",
]

# The idioms rule writers reach for (issue 9): raise, generator expressions, '_', sets (compared
# order-free: their iteration order is insertion order, CPython's is hash order), the added str,
# list and dict methods, and pow(a, b, m).
IDIOM_PROGRAMS: list[str] = [
    """
def main():
    raise ValueError("amount must be positive")
""",
    """
def check(x):
    if x < 0:
        raise ValueError
    return x

def main():
    return check(1) + check(-1)
""",
    """
def main():
    raise KeyError('household')
""",
    """
def main():
    raise NotImplementedError()
""",
    """
def main():
    raise Exception('x' * 3)
""",
    """
def bead_sort(sequence: list) -> list:
    if any(not isinstance(x, int) or x < 0 for x in sequence):
        raise TypeError("Sequence must be list of non-negative integers")
    for _ in range(len(sequence)):
        for i, (rod_upper, rod_lower) in enumerate(zip(sequence, sequence[1:])):
            if rod_upper > rod_lower:
                sequence[i] -= rod_upper - rod_lower
                sequence[i + 1] += rod_upper - rod_lower
    return sequence

def main():
    return bead_sort([8, 2, 1]), bead_sort([7, 9, 4, 3, 5])
""",
    """
def main():
    return bead_sort([-1])

def bead_sort(sequence):
    if any(not isinstance(x, int) or x < 0 for x in sequence):
        raise TypeError("Sequence must be list of non-negative integers")
    return sequence
""",
    """
def main():
    seen = []
    def_ok = any(seen.append(x) or x > 2 for x in range(100))
    return def_ok, seen, all(x < 3 for x in [1, 5, 2]), sum(x * x for x in range(10))
""",
    """
def main():
    g = (x * 2 for x in range(4) if x != 2)
    first = [v for v in g if v < 2]
    return first, list(g), list(g), max(len(w) for w in ['a', 'abc']), sorted(c for c in 'bca')
""",
    """
def main():
    xs = [1, 2, 3]
    g = (x for x in xs)
    xs.append(4)
    return list(g), tuple(x for x in 'ab'), dict((k, 1) for k in 'xy'), ''.join(c.upper() for c in 'hi')
""",
    """
def main():
    return list(x for x in 5)
""",
    """
def main():
    return sum(1 // x for x in [1, 0])
""",
    """
def main():
    n = 0
    for _ in range(5):
        n += 1
    pairs = [(_, 1) for _ in 'ab']
    a, _ = 1, 2
    return n, pairs, a, _
""",
    """
def main():
    paid = set()
    for hid in ['h1', 'h2', 'h1', 'h3', 'h2']:
        if hid in paid:
            continue
        paid.add(hid)
    return sorted(paid), len(paid), 'h1' in paid, 'h9' not in paid
""",
    """
def main():
    a = {1, 2, 3}
    b = frozenset([3, 4])
    return sorted(a | b), sorted(a & b), sorted(a - b), sorted(a ^ b), a == {3, 2, 1}, b == {3, 4}
""",
    """
def main():
    a = {1, 2}
    return a <= {1, 2, 3}, a < {1, 2}, a >= {1}, a > {1, 2}, a.issubset([1, 2]), a.isdisjoint({5})
""",
    """
def main():
    s = {x % 4 for x in range(20)}
    t = s.copy()
    t.discard(0)
    t.update([7, 8], {9})
    s.clear()
    return len(s), sorted(t), sorted(t.union({100})), sorted(t.intersection([7, 1, 50])), sorted(t.difference({7}))
""",
    """
def main():
    s = {1, 2}
    alias = s
    s |= {3}
    s &= {2, 3, 4}
    s ^= {4}
    s -= {4}
    return sorted(alias), sorted(s), bool(set()), bool({0}), len(frozenset('aab'))
""",
    """
def main():
    s = {5}
    x = s.pop()
    return x, len(s), sorted(set({'b': 1, 'a': 2})), sorted(set(range(3))), set() == frozenset()
""",
    """
def main():
    s = {1}
    s.remove(2)
""",
    """
def main():
    return set().pop()
""",
    """
def main():
    return {[1], 2}
""",
    """
def main():
    return frozenset([1]).add(2)
""",
    """
def main():
    return {1} + {2}
""",
    """
def main():
    return {1} | [2]
""",
    """
def main():
    return {1}[0]
""",
    """
def main():
    s = {1, 2}
    for x in s:
        s.add(x + 10)
""",
    """
def main():
    return set(1)
""",
    """
def main():
    return 'ab'.zfill(5), '-3'.zfill(4), '+7'.zfill(3), 'ab'.zfill(1), '42'.zfill(0)
""",
    """
def main():
    return 'ab'.ljust(5, '*'), 'ab'.rjust(4), 'ab'.center(7, '.'), 'abc'.center(6), 'x'.ljust(-1)
""",
    """
def main():
    return 'AB1'.isupper(), 'ab1'.islower(), 'aB'.islower(), ''.isupper(), '12'.islower(), 'ÉA'.isupper()
""",
    """
def main():
    return 'ab'.ljust(5, '**')
""",
    """
def main():
    return 'ab'.center('5')
""",
    """
def main():
    a = [1, [2]]
    b = a.copy()
    b.append(3)
    b[1].append(9)
    d = {'x': [1]}
    e = d.copy()
    e['y'] = 2
    return a, b, d, e
""",
    """
def main():
    return {'a': 1} | {'b': 2, 'a': 3}, 6 | 3, 6 & 3, 6 ^ 3, True | False, -8 & 255, 2 ** 70 | 1
""",
    """
def main():
    return pow(3, 200, 1000), pow(2, 10), pow(3, -1, 7), pow(-5, 3, 7), pow(10 ** 30, 10 ** 20, 97), pow(2, 0, 1)
""",
    """
def main():
    return pow(2, 3, 0)
""",
    """
def main():
    return pow(2, 1, 'a')
""",
    """
def main():
    return pow(2, -1, 4)
""",
    """
def main():
    return [1].copy(1)
""",
    # int-specialized bodies (parameters used as numbers) against every other argument type
    """
def mix(a, b, n=2):
    total = a + b
    if a < b:
        total = total * n
    return total, a - b if n > 1 else a, -a, a & 7, a | b, a ^ 1, a % 3, a // 2

def main():
    out = [mix(5, 7), mix(2 ** 70, 3, 3), mix(-4, 9, 1), mix(True, False), mix(3, True)]
    out.append(mix(6, 2 ** 62))
    return out
""",
    """
def grow(a, b):
    return a + b, a * 2

def main():
    return grow('ab', 'cd'), grow([1], [2]), grow((1,), (2,))
""",
    """
def shift(a, b):
    return a & b

def main():
    return shift([1], 2)
""",
    """
def step(n, acc):
    if n <= 0:
        return acc
    acc = acc + n
    return step(n - 1, acc)

def main():
    return step(30, 0), step(5, 'x') if False else step(3, 10 ** 30)
""",
]

ENTRY = "\n\ndef entry():\n    return str(main())\n"


def all_sources() -> list[tuple[str, str]]:
    """(id, source) for every corpus program; ``entry()`` returns ``str(main())``."""
    out: list[tuple[str, str]] = []
    for i, expr in enumerate(EXPRESSIONS):
        out.append((f"expr{i:03d}", f"def main():\n    return {expr}\n" + ENTRY))
    for i, expr in enumerate(FAILING):
        out.append((f"fail{i:03d}", f"def main():\n    return {expr}\n" + ENTRY))
    for i, program in enumerate(PROGRAMS):
        out.append((f"prog{i:03d}", program + ENTRY))
    for i, program in enumerate(LAZY_PROGRAMS):
        out.append((f"lazy{i:03d}", program + ENTRY))
    for i, program in enumerate(IDIOM_PROGRAMS):
        out.append((f"idiom{i:03d}", program + ENTRY))
    return out


def run_cpython(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    try:
        exec(compile(source, "<corpus>", "exec"), namespace)
        result = namespace["entry"]()
    except Exception as exc:
        return {"ok": False, "error_type": type(exc).__name__}
    return {"ok": True, "result": result}


def run_vm(source: str, gas: int = 5_000_000) -> dict[str, Any]:
    from contracts.runtime import run_local

    result, _ = run_local(source, "entry", {}, gas=gas)
    if result.ok:
        return {"ok": True, "result": result.result, "gas": result.gas_used}
    assert result.error is not None
    return {
        "ok": False,
        "error_type": result.error["type"],
        "gas": result.gas_used,
        "message": result.error["message"],
        "location": result.location,
    }


def example_scenario() -> list[dict[str, Any]]:
    """A realistic run of the example contracts; every receipt (result, events, gas)."""
    import hashlib

    from chain.statekeys import account_key
    from contracts.examples import source
    from contracts.runtime import CallContext, MemoryState, call, deploy

    state = MemoryState()
    admin, township, bank = "ad" * 32, "70" * 32, "ba" * 32
    approvers = ["a1" * 32, "a2" * 32, "a3" * 32]
    households = [hashlib.sha256(f"salt:{i}".encode()).hexdigest() for i in range(4)]
    start = 1_700_000_000_000
    ctx = CallContext(height=5, time=start, tx_hash="cd" * 32)
    receipts: list[dict[str, Any]] = []

    def record(result: Any) -> Any:
        receipts.append(result.to_receipt())
        return result

    registry = record(
        deploy(
            state,
            sender=admin,
            nonce=0,
            source=source("household_registry"),
            init={"registrars": [township]},
            gas=2_000_000,
            ctx=ctx,
        )
    ).address
    program = record(
        deploy(
            state,
            sender=admin,
            nonce=1,
            source=source("program_budget"),
            init={
                "approvers": approvers,
                "proposers": [township],
                "threshold": 2,
                "household_cap": 5_000,
                "bank": bank,
                "starts_at": start - 1,
                "ends_at": start + 10**9,
                "registry": registry,
            },
            gas=2_000_000,
            ctx=ctx,
        )
    ).address
    state.set(account_key(program), {"balance": 12_000, "nonce": 0})
    for h in households[:3]:
        record(
            call(
                state,
                sender=township,
                contract=registry,
                method="register",
                args={
                    "commitment": h,
                    "category": "basic",
                    "valid_from": 0,
                    "valid_until": start * 2,
                },
                gas=1_000_000,
                ctx=ctx,
            )
        )
    for i, h in enumerate(households):
        record(
            call(
                state,
                sender=township,
                contract=program,
                method="propose",
                args={
                    "payment_id": f"p{i}",
                    "commitment": h,
                    "amount": 4_000 + i,
                    "period": "2026-11",
                },
                gas=1_000_000,
                ctx=ctx,
            )
        )
        for approver in approvers[:2]:
            record(
                call(
                    state,
                    sender=approver,
                    contract=program,
                    method="approve",
                    args={"payment_id": f"p{i}"},
                    gas=1_000_000,
                    ctx=ctx,
                )
            )
    record(
        call(
            state, sender=bank, contract=program, method="summary", args={}, gas=1_000_000, ctx=ctx
        )
    )
    return receipts


def main() -> None:
    for ident, source in all_sources():
        line = {"id": ident, **run_vm(source)}
        sys.stdout.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
    for index, receipt in enumerate(example_scenario()):
        line = {"id": f"example{index:03d}", **receipt}
        sys.stdout.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
