"""Content credentials (C2PA) on recordings and files the app writes: "AI-modified by faceswap-live <version>".

The signing identity is made on first use in `data_dir()/provenance`: a local ES256 (P-256) certificate authority and
an end-entity signing certificate issued by it (the C2PA library refuses a lone self-signed certificate: it wants an
end-entity certificate with the digitalSignature key usage and an email-protection/document-signing EKU, and the
chain up to its issuer). Nobody else trusts this local CA, so a validator reports the signature as valid but the
signer as untrusted; `read_manifest` also says whether the signer is this machine's own key.

c2pa-python is imported in this module only.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceswap_live.config import data_dir
from faceswap_live.errors import OutputError

logger = logging.getLogger(__name__)

SIGNABLE_SUFFIXES: dict[str, str] = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
)
CERTIFICATE_FILE = "signer-chain.pem"
KEY_FILE = "signer-key.pem"
CA_CERTIFICATE_FILE = "local-ca.pem"


def provenance_dir() -> Path:
    """Where the signing key and certificates live: the user data dir's provenance/ folder."""
    return data_dir() / "provenance"


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """PEM texts of the signing chain (end entity first, then the local CA) and of the private key."""

    certificate_chain_pem: bytes
    private_key_pem: bytes
    ca_certificate_pem: bytes
    directory: Path


def _create_identity(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    organisation = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "faceswap-live (local user)")
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faceswap-live local CA"), organisation])
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),  # keyCertSign, cRLSign
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faceswap-live signer"), organisation])
    signer_certificate = (
        x509.CertificateBuilder()
        .subject_name(signer_name)
        .issuer_name(ca_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),  # digitalSignature
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca_certificate.public_bytes(pem)
    chain_pem = signer_certificate.public_bytes(pem) + ca_pem
    key_pem = signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # The CA key is not kept: the signer certificate lasts ten years, and a lost CA key cannot issue impostors.
    directory.mkdir(parents=True, exist_ok=True)
    _write_private(directory / KEY_FILE, key_pem)
    (directory / CA_CERTIFICATE_FILE).write_bytes(ca_pem)
    (directory / CERTIFICATE_FILE).write_bytes(chain_pem)  # written last: its presence means "identity complete"
    logger.info("Created a content-credentials signing key in %s", directory)


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def ensure_signing_identity(directory: Path | None = None) -> SigningIdentity:
    """Load the signing key and certificate chain, creating them on first use. Raises OutputError if impossible."""
    directory = directory or provenance_dir()
    try:
        if not (directory / CERTIFICATE_FILE).is_file() or not (directory / KEY_FILE).is_file():
            _create_identity(directory)
        return SigningIdentity(
            certificate_chain_pem=(directory / CERTIFICATE_FILE).read_bytes(),
            private_key_pem=(directory / KEY_FILE).read_bytes(),
            ca_certificate_pem=(directory / CA_CERTIFICATE_FILE).read_bytes(),
            directory=directory,
        )
    except OSError as error:
        raise OutputError(
            f"Could not create or read the content-credentials key in {directory}: {error}. "
            "Check that the folder is writable."
        ) from error


def build_manifest(title: str, version: str) -> dict[str, Any]:
    """The C2PA manifest definition: created by faceswap-live, edited with a trained algorithm (face replaced)."""
    agent = {"name": "faceswap-live", "version": version}
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "softwareAgent": agent,
                            "digitalSourceType": COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
                        },
                        {
                            "action": "c2pa.edited",
                            "softwareAgent": agent,
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "description": "AI-modified: faces replaced by faceswap-live",
                        },
                    ]
                },
            }
        ],
    }


def sign_file(
    path: Path,
    version: str,
    identity: SigningIdentity | None = None,
    *,
    destination: Path | None = None,
    title: str | None = None,
) -> Path:
    """Embed a signed C2PA manifest into an MP4, MOV, JPEG, PNG or WebP file, replacing it atomically.

    `destination`: write the signed file there instead (atomically; `path` is left as it is). The signed file keeps
    the permissions of `path`. `title`: the name the manifest gives the file (default: its own; a temporary file
    passes the name it will have). Returns the signed file.
    Any thread (a few tens of ms for an image, about a read + write of the file for a video). Raises OutputError for
    an unsupported type or when signing fails; the original file is left untouched then.
    """
    import c2pa

    mime_type = SIGNABLE_SUFFIXES.get(path.suffix.lower())
    if mime_type is None:
        raise OutputError(
            f"Content credentials cannot be added to {path.name}: use one of {', '.join(sorted(SIGNABLE_SUFFIXES))}."
        )
    identity = identity or ensure_signing_identity()
    target = destination or path
    try:
        descriptor, temporary_name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=path.suffix, dir=target.parent)
    except OSError as error:
        raise OutputError(f"Could not add content credentials to {path.name}: {error}") from error
    os.close(descriptor)
    temporary = Path(temporary_name)
    try:
        signer_info = c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ES256, identity.certificate_chain_pem, identity.private_key_pem, None
        )
        with (
            c2pa.Signer.from_info(signer_info) as signer,
            c2pa.Builder(build_manifest(title or target.name, version)) as builder,
            path.open("rb") as source,
            temporary.open("w+b") as signed,
        ):
            builder.sign(signer, mime_type, source, signed)
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))  # mkstemp makes 0600; keep the file's own mode
        temporary.replace(target)
    except (c2pa.C2paError, OSError) as error:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"Could not add content credentials to {path.name}: {error}") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    logger.info("Signed content credentials into %s", target)
    return target


@dataclass(frozen=True, slots=True)
class ManifestSummary:
    """What the active C2PA manifest of a file says.

    valid: the signature and the content hashes check out (the file was not changed after signing).
    trusted: the signer chains to a trust anchor the validator knows; a local faceswap-live key never does, so
    `signed_by_this_machine` says whether it is this installation's own key.
    """

    present: bool
    valid: bool
    trusted: bool
    signed_by_this_machine: bool
    signer: str | None
    issuer: str | None
    claim_generator: str | None
    actions: tuple[str, ...] = ()
    digital_source_types: tuple[str, ...] = ()
    ai_modified: bool = False
    validation_state: str | None = None
    failures: tuple[str, ...] = field(default_factory=tuple)


def read_manifest(path: Path, identity_dir: Path | None = None) -> ManifestSummary | None:
    """The file's active C2PA manifest, or None when it has none (or its type cannot hold one). Any thread.

    Raises OutputError only when the file cannot be read at all.
    """
    import c2pa

    if not path.is_file():
        raise OutputError(f"{path} does not exist or is not a file.")
    try:
        with c2pa.Reader(path) as reader:
            report = json.loads(reader.json())
            state = reader.get_validation_state()
    except c2pa.C2paError as error:
        logger.debug("No readable C2PA manifest in %s: %s", path, error)
        return None
    active_label = report.get("active_manifest")
    manifest = report.get("manifests", {}).get(active_label) if active_label else None
    if not manifest:
        return None
    signature = manifest.get("signature_info", {})
    actions: list[str] = []
    source_types: list[str] = []
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                actions.append(str(action.get("action", "")))
                if action.get("digitalSourceType"):
                    source_types.append(str(action["digitalSourceType"]))
    failures = tuple(
        str(item.get("code", "")) for item in report.get("validation_status", []) if isinstance(item, dict)
    )
    generator = ", ".join(
        f"{info.get('name', '')} {info.get('version', '')}".strip() for info in manifest.get("claim_generator_info", [])
    )
    serial = str(signature.get("cert_serial_number", ""))
    return ManifestSummary(
        present=True,
        valid=state in ("Valid", "Trusted"),
        trusted=state == "Trusted",
        signed_by_this_machine=bool(serial) and serial == _local_signer_serial(identity_dir),
        signer=signature.get("common_name"),
        issuer=signature.get("issuer"),
        claim_generator=generator or manifest.get("claim_generator"),
        actions=tuple(actions),
        digital_source_types=tuple(source_types),
        ai_modified=any("AlgorithmicMedia" in source_type for source_type in source_types),
        validation_state=state,
        failures=failures,
    )


def _local_signer_serial(identity_dir: Path | None) -> str | None:
    """The decimal serial number of this machine's signing certificate, None if none was made yet."""
    path = (identity_dir or provenance_dir()) / CERTIFICATE_FILE
    if not path.is_file():
        return None
    from cryptography import x509

    try:
        return str(x509.load_pem_x509_certificate(path.read_bytes()).serial_number)
    except (OSError, ValueError):
        return None
