"""The Dockerfile lint of check_dockerfile.py: the real Dockerfile passes, and each rule catches
the mistake it is about (the full stage run is the separate `deploy_dockerfile` ctest)."""
import pathlib

import pytest

from check_dockerfile import apt_packages, lint, parse

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
DOCKERIGNORE = (REPO / ".dockerignore").read_text()


def test_the_dockerfile_passes_the_lint():
    assert lint(DOCKERFILE, DOCKERIGNORE) == []


def test_two_stages_build_then_slim_runtime():
    stages = parse(DOCKERFILE)
    assert [s.image for s in stages] == ["debian:bookworm", "debian:bookworm-slim"]
    runtime = [p for i in stages[1].instructions if i.keyword == "RUN"
               for p in apt_packages(i.args)]
    assert "libldns3" in runtime and not any(p.endswith("-dev") for p in runtime)


@pytest.mark.parametrize("old,new,message", [
    ("FROM debian:bookworm-slim", "FROM debian:latest", "pin an explicit tag"),
    ("FROM debian:bookworm-slim", "FROM debian", "pin an explicit tag"),
    ("FROM debian:bookworm-slim", "FROM debian:trixie-slim", "same Debian release"),
    ("USER 65532:65532", "USER root", "numeric UID"),
    ("USER 65532:65532", "USER 0", "must not be root"),
    ("USER 65532:65532\n", "", "non-root numeric UID"),
    ("COPY . src/", "ADD https://example.org/petdns.tar.gz src/", "not ADD"),
    (" && rm -rf /var/lib/apt/lists/*\n\n# A fixed", "\n\n# A fixed", "/var/lib/apt/lists"),
    ("install -y --no-install-recommends \\\n      libldns3", "install -y \\\n      libldns3",
     "--no-install-recommends"),
    ('ENTRYPOINT ["/usr/local/bin/petdns"]', "ENTRYPOINT /usr/local/bin/petdns", "exec"),
    ("EXPOSE 53/udp 53/tcp", "EXPOSE 53/tcp", "53/udp"),
    ("RUN setcap cap_net_bind_service=+ep", "RUN true cap_net_bind_servic=+ep",
     "cap_net_bind_service"),
    ("COPY --from=build ", "COPY --from=builder ", "no earlier stage"),
])
def test_lint_catches(old, new, message):
    assert old in DOCKERFILE
    problems = lint(DOCKERFILE.replace(old, new, 1), DOCKERIGNORE)
    assert any(message in p[1] for p in problems), problems


def test_lint_wants_the_build_folders_out_of_the_context():
    problems = lint(DOCKERFILE, DOCKERIGNORE.replace("build*\n", ""))
    assert any("build*" in p[1] for p in problems)
