"""Web client size: the JavaScript a browser loads for the sign-in route, gzipped
(target <= 200 KB), and every route's own chunk, from the Vite manifest.

    .venv/bin/python bench/web_bundle_bench.py [--dist web/dist]

Reads ``web/dist/.vite/manifest.json`` when the build wrote one; otherwise builds the
client once more into a temporary folder with ``vite build --manifest`` (web/dist is
left alone). Initial JS of a route = the entry chunk and its static imports, plus the
route component's chunk and its static imports (what the browser fetches before the
page can render). Sizes are gzip -9, as a server or CDN would send them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import figure  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
NAME = "web bundle"
LIMIT_KB = 200
SIGN_IN = "src/features/auth/LoginPage.vue"


def manifest_of(dist: Path) -> tuple[dict, Path]:
    """(manifest, dist folder it describes); builds a manifest copy when missing."""
    found = dist / ".vite" / "manifest.json"
    if found.is_file():
        return json.loads(found.read_text()), dist
    out = Path(tempfile.mkdtemp(prefix="pc-web-manifest-"))
    print(f"no manifest in {dist}: building one into {out}", flush=True)
    subprocess.run(["npx", "vite", "build", "--manifest", "--outDir", str(out), "--emptyOutDir"],
                   cwd=WEB, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / ".vite" / "manifest.json").read_text()), out


def gz_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1024


def static_closure(manifest: dict, key: str, seen: set[str] | None = None) -> set[str]:
    """``key`` and every chunk it imports statically (transitively)."""
    seen = set() if seen is None else seen
    if key in seen or key not in manifest:
        return seen
    seen.add(key)
    for dep in manifest[key].get("imports", []):
        static_closure(manifest, dep, seen)
    return seen


def js_kb(manifest: dict, keys: set[str], dist: Path) -> float:
    return sum(gz_kb(dist / manifest[k]["file"]) for k in keys
               if manifest[k]["file"].endswith(".js"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dist", type=Path, default=WEB / "dist")
    args = ap.parse_args()
    manifest, dist = manifest_of(args.dist)
    entry = next(k for k, v in manifest.items() if v.get("isEntry"))
    base = static_closure(manifest, entry)
    css = sum(gz_kb(dist / f) for k in base for f in manifest[k].get("css", []))
    routes = sorted(k for k in manifest[entry].get("dynamicImports", []) if k.endswith(".vue"))
    print(f"entry {manifest[entry]['file']}: {js_kb(manifest, base, dist):.1f} KB gzipped JS "
          f"(+ {css:.1f} KB CSS) in {len(base)} chunks")
    print(f"{'route chunk':<48} {'own':>9} {'initial':>9}")
    for key in routes:
        own = static_closure(manifest, key) - base
        # Routes nested in the shell also wait for the shell's chunk.
        shell = {k for k in routes if k.endswith("AppShell.vue")}
        extra = set().union(*(static_closure(manifest, s) - base for s in shell)) \
            if key != SIGN_IN and not key.endswith("AppShell.vue") else set()
        initial = js_kb(manifest, base | own | extra, dist)
        print(f"{key.removeprefix('src/'):<48} {js_kb(manifest, own, dist):7.1f} KB "
              f"{initial:7.1f} KB")
        label = "sign-in (LoginPage)" if key == SIGN_IN else Path(key).stem
        figure(NAME, f"{label} route initial JS (gzip)", round(initial, 1), "KB",
               **({"at_most": LIMIT_KB} if key == SIGN_IN else {}))
    figure(NAME, "entry CSS (gzip)", round(css, 1), "KB")
    if SIGN_IN not in manifest:
        figure(NAME, "sign-in route found in the manifest", False, equals=True)
    if dist != args.dist:
        shutil.rmtree(dist, ignore_errors=True)


if __name__ == "__main__":
    main()
