"""`python -m lulea.ca [serve|init|issue-server]`.

- `init --dir DIR`: create the root and intermediate CA in DIR if absent (idempotent).
- `issue-server --dir DIR --cn NAME --san IP|DNS ... --out-dir OUT`: a server certificate
  for a platform component of the local stack (e.g. the Kafka broker), written as a PEM
  keystore (key + chain, Kafka `ssl.keystore.type=PEM`), `NAME.crt` + `NAME.key`, and a PEM
  truststore (the root).
- `issue-client --dir DIR --cn NAME --out-dir OUT`: the same for a client certificate (the
  local stack's Kafka administrator), without subjectAltNames.
- `crl --dir DIR --mongo-uri URI --out FILE`: write the current CRL (DER) from the CA's records,
  for a verifier that must hold one before the CA serves (the local broker's revocation
  plug-in checks its own listeners at start-up).
- `serve` (default): the CA service on the host/port of its settings.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from lulea.ca.domain.hierarchy import ensure_files, load_files, new_key
from lulea.ca.domain.issuance import sign
from lulea.ca.domain.profiles import Profile, Subject
from lulea.ca.store.keyfiles import KeyFiles, write


def _split_sans(sans: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    dns: list[str] = []
    ips: list[str] = []
    for san in sans:
        try:
            ips.append(str(ipaddress.ip_address(san)))
        except ValueError:
            if "." not in san.strip("."):
                raise SystemExit(
                    f"--san {san}: single-label DNS names are refused (pkilint and the "
                    "intermediate's name constraints); use --san 127.0.0.1 or a FQDN"
                ) from None
            dns.append(san.lower())
    return tuple(dns), tuple(ips)


def issue(directory: Path, cn: str, sans: list[str], out_dir: Path, profile: Profile) -> Path:
    hierarchy = load_files(KeyFiles(directory))
    dns, ips = _split_sans(sans)
    key = new_key()
    subject = Subject(
        common_name=cn,
        profile=profile,
        organization="Lulea",
        dns_names=dns,
        ip_addresses=ips,
    )
    signed = sign(hierarchy, subject, key.public_key())
    out_dir.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    intermediate = hierarchy.intermediate.cert_pem()
    keystore = out_dir / f"{cn}.keystore.pem"
    write(keystore, key_pem + signed.cert_pem() + intermediate, 0o600)
    write(out_dir / f"{cn}.crt", signed.cert_pem() + intermediate, 0o644)
    write(out_dir / f"{cn}.key", key_pem, 0o600)
    write(out_dir / "truststore.pem", hierarchy.root_pem(), 0o644)
    return keystore


async def write_crl(directory: Path, mongo_uri: str, database: str, out: Path) -> None:
    from cryptography.hazmat.primitives import serialization as ser

    from lulea.ca.domain.crl import CurrentCrl
    from lulea.ca.store.mongo import MongoRecords

    records = MongoRecords.connect(mongo_uri, database)
    crl = await CurrentCrl(load_files(KeyFiles(directory)).intermediate, records).refresh()
    write(out, crl.public_bytes(ser.Encoding.DER), 0o644)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lulea.ca")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the CA service (default)")
    init_p = sub.add_parser("init", help="create root + intermediate CA if absent")
    init_p.add_argument("--dir", type=Path, required=True)
    srv = sub.add_parser("issue-server", help="issue a server certificate (PEM keystore)")
    srv.add_argument("--dir", type=Path, required=True)
    srv.add_argument("--cn", required=True)
    srv.add_argument("--san", action="append", default=[])
    srv.add_argument("--out-dir", type=Path, required=True)
    cli = sub.add_parser("issue-client", help="issue a client certificate (PEM keystore)")
    cli.add_argument("--dir", type=Path, required=True)
    cli.add_argument("--cn", required=True)
    cli.add_argument("--san", action="append", default=[], help="DNS names only")
    cli.add_argument("--out-dir", type=Path, required=True)
    crl_p = sub.add_parser("crl", help="write the current CRL (DER) from the CA's records")
    crl_p.add_argument("--dir", type=Path, required=True)
    crl_p.add_argument("--mongo-uri", required=True)
    crl_p.add_argument("--database", default="lulea_ca")
    crl_p.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "crl":
        asyncio.run(write_crl(args.dir, args.mongo_uri, args.database, args.out))
        print(f"CRL {args.out}")
        return 0
    if args.command == "init":
        hierarchy, created = ensure_files(KeyFiles(args.dir))
        state = "created" if created else "exists"
        print(f"{state}: {args.dir} (intermediate serial {hierarchy.intermediate.cert.serial_number:x})")
        return 0
    if args.command in ("issue-server", "issue-client"):
        server = args.command == "issue-server"
        keystore = issue(args.dir, args.cn, args.san, args.out_dir,
                         Profile.SERVER if server else Profile.CLIENT)
        print(f"keystore {keystore}; truststore {args.out_dir / 'truststore.pem'}")
        return 0
    from lulea.ca.main import run  # the service's imports only when serving

    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
