"""Hummingbot's encrypted-value format, implemented a second time, in Python.

The test that drives this file checks nectar against a stack that shares no
code with it: OpenSSL's PBKDF2 (through hashlib) and PyCryptodome's AES and
Keccak, the library Hummingbot's own keyfile code is built on. Written from
the format's definition (Web3 Secret Storage v3 as Hummingbot stores it:
hex of the keyfile's JSON), not from nectar's code.

  hbformat.py decrypt DIR    stdin: the password. Prints, as JSON, every
                             value of DIR/conf/.password_verification and
                             DIR/conf/connectors/*.yml: secrets decrypted,
                             settings as written.
  hbformat.py write DIR      stdin: JSON {"password", "c", "connectors":
                             {name: [[field, is_secret, value], ...]}}.
                             Writes DIR/.password_verification and
                             DIR/connectors/<name>.yml as Hummingbot does: a
                             fresh salt and IV per value, the IV written
                             without its leading zero bytes.
"""
import binascii
import hashlib
import json
import os
import sys

from Cryptodome.Cipher import AES
from Cryptodome.Hash import keccak
from Cryptodome.Util import Counter

_keys = {}  # (password, salt, c) -> derived key: one derivation per salt


def derive(password, salt, c):
    k = (password, salt, c)
    if k not in _keys:
        _keys[k] = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, c, 32)
    return _keys[k]


def mac_of(key, ciphertext):
    h = keccak.new(digest_bits=256)
    h.update(key[16:32] + ciphertext)
    return h.digest()


def ctr(key, iv):
    return AES.new(key[:16], AES.MODE_CTR, counter=Counter.new(128, initial_value=iv, allow_wraparound=True))


def lower_keys(node):
    if isinstance(node, dict):
        return {k.lower(): lower_keys(v) for k, v in node.items()}
    return node


def decrypt_value(hexed, password):
    doc = lower_keys(json.loads(binascii.unhexlify(hexed)))
    crypto = doc["crypto"]
    params = crypto["kdfparams"]
    if crypto["kdf"] != "pbkdf2" or params["prf"] != "hmac-sha256" or params["dklen"] != 32:
        raise ValueError("not a keyfile Hummingbot writes")
    key = derive(password, binascii.unhexlify(params["salt"]), params["c"])
    ciphertext = binascii.unhexlify(crypto["ciphertext"])
    if mac_of(key, ciphertext) != binascii.unhexlify(crypto["mac"]):
        raise ValueError("MAC mismatch: wrong password or a damaged value")
    iv = int(crypto["cipherparams"]["iv"], 16)
    return ctr(key, iv).decrypt(ciphertext).decode()


def encrypt_value(plain, password, c, iv_bytes):
    salt = os.urandom(16)
    key = derive(password, salt, c)
    iv = int.from_bytes(iv_bytes, "big")
    ciphertext = ctr(key, iv).encrypt(plain.encode())
    iv_hex = iv.to_bytes((iv.bit_length() + 7) // 8, "big").hex()  # leading zero bytes dropped
    doc = {
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv_hex},
            "ciphertext": ciphertext.hex(),
            "kdf": "pbkdf2",
            "kdfparams": {"c": c, "dklen": 32, "prf": "hmac-sha256", "salt": salt.hex()},
            "mac": mac_of(key, ciphertext).hex(),
        },
        "version": 3,
        "alias": "",
    }
    return binascii.hexlify(json.dumps(doc).encode()).decode()


def is_keyfile(value):
    try:
        return "crypto" in lower_keys(json.loads(binascii.unhexlify(value)))
    except (ValueError, TypeError):
        return False


def decrypt_dir(root, password):
    out = {}
    with open(os.path.join(root, "conf", ".password_verification")) as f:
        out[".password_verification"] = decrypt_value(f.read().strip(), password)
    conn_dir = os.path.join(root, "conf", "connectors")
    for name in sorted(os.listdir(conn_dir)):
        fields = {}
        with open(os.path.join(conn_dir, name), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                field, _, value = line.partition(":")
                value = value.strip()
                fields[field.strip()] = decrypt_value(value, password) if is_keyfile(value) else value
        out[name] = fields
    json.dump(out, sys.stdout, ensure_ascii=False, sort_keys=True)


def write_dir(root, spec):
    password, c = spec["password"], spec["c"]
    os.makedirs(os.path.join(root, "connectors"), exist_ok=True)
    n = 0

    def iv():
        # Cycle through IVs with no, one and two leading zero bytes.
        nonlocal n
        zeros = n % 3
        n += 1
        return b"\0" * zeros + bytes([0x80]) + os.urandom(15 - zeros)

    with open(os.path.join(root, ".password_verification"), "w") as f:
        f.write(encrypt_value("HummingBot", password, c, iv()))
    for name, fields in spec["connectors"].items():
        with open(os.path.join(root, "connectors", name + ".yml"), "w", encoding="utf-8") as f:
            f.write("###   %s config   ###\n\nconnector: %s\n" % (name, name))
            for field, secret, value in fields:
                f.write("\n%s: %s\n" % (field, encrypt_value(value, password, c, iv()) if secret else value))


if __name__ == "__main__":
    command, directory = sys.argv[1], sys.argv[2]
    if command == "decrypt":
        decrypt_dir(directory, sys.stdin.readline().rstrip("\n"))
    elif command == "write":
        write_dir(directory, json.load(sys.stdin))
    else:
        sys.exit("usage: hbformat.py decrypt|write DIR")
