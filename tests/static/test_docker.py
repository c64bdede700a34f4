"""What can be checked of docker/ without a Docker engine: the Dockerfile copies paths that exist,
its runtime stage installs every Debian package the built binary links against, and the example
configuration validates."""

import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
BIN = pathlib.Path(os.environ.get("FK_BIN", ROOT / "build" / "app" / "fleetkeeper"))


# The libraries fleetkeeper links directly (file name prefixes) and their packages' prefixes;
# what they depend on comes with them.
DIRECT = ("librdkafka", "libcurl", "libssl", "libcrypto", "libspdlog", "libprotobuf", "libyaml-cpp",
          "libpugixml", "libprometheus-cpp-core", "libcpp-httplib")
DIRECT_PACKAGES = ("librdkafka", "libcurl4", "libssl3", "libspdlog", "libprotobuf",
                   "libyaml-cpp", "libpugixml", "libprometheus-cpp-core", "libcpp-httplib")


def stages():
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    parts = re.split(r"^FROM ", text, flags=re.M)[1:]
    return ["FROM " + p for p in parts]


def test_copy_sources_exist():
    build = stages()[0]
    sources = re.findall(r"^COPY (?!--from)(\S+)", build, flags=re.M)
    assert sources, "the build stage copies nothing"
    for src in sources:
        assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is not in the repository"


def test_runtime_stage_installs_every_linked_library_package():
    runtime = stages()[-1]
    installed = set(re.findall(r"\b(lib[a-z0-9.+-]+)\b", runtime.split("apt-get install", 1)[1]))
    ldd = subprocess.run(["ldd", str(BIN)], capture_output=True, text=True, check=True).stdout
    needed = set()
    for line in ldd.splitlines():
        m = re.search(r"=> (/\S+)", line)
        if not m or not pathlib.Path(m.group(1)).name.startswith(DIRECT):
            continue
        path = m.group(1)
        # Merged /usr: dpkg may know the file under /usr/lib while ldd reports /lib, or back.
        candidates = [path, path.replace("/usr/lib/", "/lib/", 1),
                      path.replace("/lib/", "/usr/lib/", 1) if path.startswith("/lib/") else path]
        for candidate in candidates:
            owner = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if owner.returncode == 0:
                break
        assert owner.returncode == 0, f"no package owns {m.group(1)}"
        needed.add(owner.stdout.split(":")[0])
    # Direct dependencies the image must name; their own dependencies come with them.
    direct = {p for p in needed if p.startswith(DIRECT_PACKAGES)}
    assert direct, "ldd found none of the expected libraries"
    missing = direct - installed
    assert not missing, f"the runtime stage does not install {sorted(missing)}"


def test_example_config_validates():
    out = subprocess.run([str(BIN), "validate-config", str(ROOT / "docker" / "fleetkeeper.example.yaml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "valid" in out.stdout


def test_runtime_user_is_numeric_and_created_in_the_image():
    # Kubernetes' runAsNonRoot can only verify a numeric user; a name makes it refuse the pod.
    runtime = stages()[-1]
    users = re.findall(r"^USER\s+(\S+)\s*$", runtime, flags=re.M)
    assert users, "the runtime stage sets no USER: the image would run as root"
    m = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
    assert m, f"USER {users[-1]} is not numeric (UID or UID:GID)"
    uid, gid = m.group(1), m.group(2)
    assert int(uid) != 0 and (gid is None or int(gid) != 0), f"USER {users[-1]} is root"
    assert re.search(rf"\buseradd\b[^\n]*--uid {uid}\b", runtime), \
        f"the runtime stage does not create a user with UID {uid}"
    if gid is not None:
        assert re.search(rf"\bgroupadd\b[^\n]*--gid {gid}\b", runtime), \
            f"the runtime stage does not create a group with GID {gid}"
