"""A real test PKI for the signing tests: certomancer on loopback, and a SoftHSM2 token.

As pyHanko's own CI does: certomancer issues a root, an intermediate CA, agency
certificates (good, revoked, expired, without revocation pointers, under an untrusted
root), an OCSP responder, CRLs and an RFC 3161 timestamp service from one YAML file;
`certomancer animate` serves them on 127.0.0.1; certomancer's Alchemist writes the agency's
key and certificate onto a SoftHSM2 token created for the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, ServiceLabel
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TEMPLATE = Path(__file__).with_name("certomancer.yml")
CERTOMANCER = Path(sys.executable).parent / "certomancer"
SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
KEY_LABELS = (
    "root", "interm", "agency", "agency-revoked", "agency-expired", "agency-no-revinfo",
    "tsa", "ocsp", "other-root", "other-agency",
)
ARCH = "sohoa-test"
OTHER_ARCH = "other-test"
TOKEN_LABEL = "sohoa-test-token"
TOKEN_PIN = "246810"  # a test token's PIN: given to sohoa through SOHOA_SIGNING_PIN only
TOKEN_SO_PIN = "13579111"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class TestPki:
    folder: Path
    port: int
    config: CertomancerConfig
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arch(self, name: str = ARCH):
        return self.config.get_pki_arch(ArchLabel(name))

    @property
    def timestamp_url(self) -> str:
        return self.arch().service_registry.get_tsa_info(ServiceLabel("tsa")).url

    @property
    def root_pem(self) -> Path:
        return self.cert_pem("root")

    def cert_pem(self, label: str, arch: str = ARCH) -> Path:
        path = self.folder / f"{label}.cert.pem"
        if not path.exists():
            cert = self.arch(arch).get_cert(CertLabel(label))
            pem = b"-----BEGIN CERTIFICATE-----\n" + _b64(cert.dump()) + b"-----END CERTIFICATE-----\n"
            path.write_bytes(pem)
        return path

    def pkcs12(self, label: str, passphrase: str, arch: str = ARCH) -> Path:
        """The agency certificate `label` with its key and chain, as a PKCS#12 file."""
        path = self.folder / f"{label}.p12"
        data = self.arch(arch).package_pkcs12(CertLabel(label), password=passphrase.encode())
        path.write_bytes(data)
        return path

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(CERTOMANCER), "--config", str(self.folder / "certomancer.yml"), "animate",
             "--port", str(self.port), "--no-web-ui"],
            cwd=self.folder, stdout=subprocess.DEVNULL, stderr=open(self.folder / "animate.log", "wb"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"certomancer animate exited: {(self.folder / 'animate.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("certomancer animate did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _b64(der: bytes) -> bytes:
    import base64

    text = base64.b64encode(der)
    return b"".join(text[i:i + 64] + b"\n" for i in range(0, len(text), 64))


def build_pki(folder: Path) -> TestPki:
    """Generate the keys and render the config into folder (certomancer wants pregenerated keys)."""
    keys = folder / "keys"
    keys.mkdir(parents=True)
    for label in KEY_LABELS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (keys / f"{label}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ))
    port = free_port()
    (folder / "certomancer.yml").write_text(TEMPLATE.read_text().replace("@PORT@", str(port)))
    config = CertomancerConfig.from_file(folder / "certomancer.yml", key_search_dir=folder)
    return TestPki(folder=folder, port=port, config=config)


@dataclass(frozen=True)
class SoftHsmToken:
    conf: Path
    module: Path = SOFTHSM_MODULE
    label: str = TOKEN_LABEL
    pin: str = TOKEN_PIN

    @property
    def env(self) -> dict:
        return {"SOFTHSM2_CONF": str(self.conf)}


def build_token(folder: Path, pki: TestPki, cert_labels=("agency",)) -> SoftHsmToken:
    """A fresh SoftHSM2 token holding the agency's key and certificate chain."""
    if shutil.which("softhsm2-util") is None or not SOFTHSM_MODULE.exists():
        raise RuntimeError("SoftHSM2 is missing: `make test` installs the Debian package softhsm2")
    tokens = folder / "tokens"
    tokens.mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
         "--so-pin", TOKEN_SO_PIN, "--pin", TOKEN_PIN],
        check=True, capture_output=True, env=env,
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)  # this process opens the token too (Alchemist)
    from certomancer.integrations import alchemist

    session = alchemist.open_pkcs11_session(str(SOFTHSM_MODULE), token_label=TOKEN_LABEL, pin=TOKEN_PIN)
    try:
        alchemist.Alchemist(alchemist.DefaultAlchemistBackend(session), pki.arch()).store_key_bundles(
            certs={CertLabel(label) for label in cert_labels}, include_chains=True,
        )
    finally:
        session.close()
    return SoftHsmToken(conf=conf)
