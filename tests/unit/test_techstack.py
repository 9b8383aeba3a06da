"""Tech stack detection from realistic project trees."""

from __future__ import annotations

import json

import pytest

from projectdesk.core.techstack import ORDER, detect, is_interesting


def _pkg(deps: dict[str, str] | None = None, dev: dict[str, str] | None = None) -> bytes:
    return json.dumps({"name": "app", "dependencies": deps or {}, "devDependencies": dev or {}}).encode()


def test_react_vite_tailwind_with_fastapi_backend() -> None:
    paths = [
        "README.md",
        "frontend/package.json",
        "frontend/index.html",
        "frontend/vite.config.js",
        "frontend/tailwind.config.js",
        "frontend/postcss.config.js",
        "frontend/src/main.jsx",
        "frontend/src/App.jsx",
        "frontend/src/index.css",
        "backend/requirements.txt",
        "backend/main.py",
        "backend/app/routes.py",
    ]
    contents = {
        "frontend/package.json": _pkg(
            {"react": "^18.2.0", "react-dom": "^18.2.0"},
            {"vite": "^5.0.0", "@vitejs/plugin-react": "^4.0.0", "tailwindcss": "^3.4.0", "autoprefixer": "^10"},
        ),
        "backend/requirements.txt": b"fastapi==0.110.0\nuvicorn[standard]>=0.27\npydantic>=2\n",
    }
    stack = detect(paths, contents)
    assert stack.tech_stack == ["React", "Vite", "TailwindCSS", "FastAPI", "Node.js", "Python"]
    assert stack.has_frontend
    assert stack.has_backend


def test_result_follows_order_whatever_the_input_order() -> None:
    paths = ["Dockerfile", "main.go", "go.mod", "src/lib.rs", "Cargo.toml", "tsconfig.json", "package.json"]
    forward = detect(paths, {"package.json": _pkg({"express": "4"})}).tech_stack
    backward = detect(list(reversed(paths)), {"package.json": _pkg({"express": "4"})}).tech_stack
    assert forward == backward
    assert forward == sorted(forward, key=ORDER.index)
    assert forward == ["Express", "TypeScript", "Node.js", "Rust", "Go", "Docker"]


@pytest.mark.parametrize(
    ("paths", "contents", "expected"),
    [
        (["package.json", "pages/index.js"], {"package.json": _pkg({"next": "14", "react": "18"})}, "Next.js"),
        (["next.config.mjs", "app/page.js"], {}, "Next.js"),
        (["package.json", "src/App.vue"], {"package.json": _pkg({"vue": "^3.4"})}, "Vue"),
        (["src/App.vue"], {}, "Vue"),
        (["package.json"], {"package.json": _pkg(dev={"svelte": "^4", "@sveltejs/kit": "^2"})}, "Svelte"),
        (["src/routes/+page.svelte"], {}, "Svelte"),
        (["package.json"], {"package.json": _pkg({"@angular/core": "^17"})}, "Angular"),
        (["angular.json", "src/main.ts"], {}, "Angular"),
        (["package.json", "server.js"], {"package.json": _pkg({"express": "^4.18"})}, "Express"),
        (["tsconfig.json", "src/index.js"], {}, "TypeScript"),
        (["src/index.ts"], {}, "TypeScript"),
        (["manage.py", "mysite/settings.py"], {}, "Django"),
        (["requirements.txt"], {"requirements.txt": b"Django>=5.0\npsycopg[binary]\n"}, "Django"),
        (
            ["pyproject.toml", "app.py"],
            {"pyproject.toml": b'[project]\nname = "x"\ndependencies = ["Flask>=3.0", "gunicorn"]\n'},
            "Flask",
        ),
        (
            ["pyproject.toml"],
            {"pyproject.toml": b'[tool.poetry.dependencies]\npython = "^3.11"\nfastapi = "^0.110"\n'},
            "FastAPI",
        ),
        (["Cargo.toml", "src/main.rs"], {}, "Rust"),
        (["go.mod", "cmd/app/main.go"], {}, "Go"),
        (["pom.xml", "src/main/java/App.java"], {}, "Java"),
        (["build.gradle.kts"], {}, "Java"),
        (["Dockerfile"], {}, "Docker"),
        (["docker-compose.yml"], {}, "Docker"),
    ],
)
def test_detects_each_technology(paths: list[str], contents: dict[str, bytes], expected: str) -> None:
    assert expected in detect(paths, contents).tech_stack


def test_requirements_comments_options_and_similar_names_do_not_count() -> None:
    text = b"# fastapi is not used here\n-r base.txt\n--index-url https://x\nflask_cors\nflask-login\ndjangorestframework\n"
    stack = detect(["requirements.txt"], {"requirements.txt": text})
    assert stack.tech_stack == ["Python"]
    assert not stack.has_backend


def test_type_declarations_alone_are_not_typescript() -> None:
    assert "TypeScript" not in detect(["types/globals.d.ts", "index.js"]).tech_stack


def test_node_modules_is_ignored_in_paths_and_contents() -> None:
    paths = [
        "package.json",
        "index.js",
        "node_modules/express/package.json",
        "node_modules/express/index.js",
        "node_modules/typescript/lib/tsc.ts",
        "node_modules/react/index.jsx",
        "node_modules/foo/Dockerfile",
    ]
    contents = {
        "package.json": _pkg({"lodash": "4"}),
        "node_modules/express/package.json": _pkg({"express": "4"}),
    }
    stack = detect(paths, contents)
    assert stack.tech_stack == ["Node.js"]
    assert not stack.has_backend


@pytest.mark.parametrize(
    "data",
    [b"{not json", b"", b"[1, 2, 3]", b'"just a string"', b"\xff\xfe\x00garbage", b'{"dependencies": ["react"]}'],
)
def test_malformed_package_json_does_not_crash(data: bytes) -> None:
    stack = detect(["package.json"], {"package.json": data})
    assert stack.tech_stack == ["Node.js"]


@pytest.mark.parametrize(
    "data",
    [
        b"this is [not toml",
        b"\xff\xfe garbage",
        b"project = 3",
        b"tool = 3",
        b"[project]\ndependencies = 5\n",
        b'[project]\noptional-dependencies = ["flask"]\n',
        b"[tool]\npoetry = 1\n",
    ],
)
def test_malformed_pyproject_does_not_crash(data: bytes) -> None:
    stack = detect(["pyproject.toml"], {"pyproject.toml": data})
    assert "Python" in stack.tech_stack


def test_python_only_cli_is_not_a_backend() -> None:
    paths = [
        "pyproject.toml",
        "README.md",
        "src/mytool/__init__.py",
        "src/mytool/cli.py",
        "tests/test_cli.py",
    ]
    contents = {"pyproject.toml": b'[project]\nname = "mytool"\ndependencies = ["click>=8", "rich"]\n'}
    stack = detect(paths, contents)
    assert stack.tech_stack == ["Python"]
    assert not stack.has_backend
    assert not stack.has_frontend


def test_plain_static_site_is_frontend() -> None:
    stack = detect(["index.html", "style.css", "script.js"])
    assert stack.has_frontend
    assert not stack.has_backend
    assert stack.tech_stack == []


def test_empty_project() -> None:
    stack = detect([])
    assert (stack.tech_stack, stack.has_frontend, stack.has_backend) == ([], False, False)


@pytest.mark.parametrize(
    ("path", "wanted"),
    [
        ("package.json", True),
        ("frontend/package.json", True),
        ("apps/web/package.json", True),
        ("a/b/c/package.json", False),
        ("requirements.txt", True),
        ("pyproject.toml", True),
        ("src/main.py", False),
        ("package.json.bak", False),
    ],
)
def test_is_interesting(path: str, wanted: bool) -> None:
    assert is_interesting(path) is wanted


def test_hostile_key_names_never_break_detection() -> None:
    from projectdesk.core import techstack

    for path in (".", "", "/", "./.", "a/../package.json"):
        assert techstack.is_interesting(path) in (True, False)
    techstack.detect([".", "", "/", "x/."], {".": b"{}"})
