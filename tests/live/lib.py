# Python helpers for live tests that read JSON Lines (copied to $TMP/lib.py
# by the tests that use them):
#   res(NAME, GOOD, WHY): print an "ok - NAME" or "not ok - NAME: WHY" line
#   records(PATH): the JSON objects of a file, and its other lines apart
import json


def res(name, good, why=""):
    print(("ok - " if good else "not ok - ") + name + ("" if good else ": " + why))


def records(path):
    recs, other = [], []
    try:
        data = open(path, "rb").read()
    except OSError as e:
        return [], [str(e).encode()]
    for l in data.split(b"\n"):
        if not l:
            continue
        try:
            r = json.loads(l)
        except Exception:
            other.append(l)
            continue
        if isinstance(r, dict):
            recs.append(r)
        else:
            other.append(l)
    return recs, other
