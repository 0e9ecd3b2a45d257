#!/usr/bin/env python3
"""Generate nectar's facts about one Hummingbot release from its source.

Usage: python3 tools/hbfacts/hbfacts.py --hummingbot /tmp/hb [--pythonpath DIR] [--out REPO]

Writes, under REPO (default: the repository holding this file):
  internal/connector/hummingbot-v<version>.tsv   connector fields
  internal/hummingbot/hummingbot-v<version>.json  client config, configs, image files
and prints on stderr what it noticed along the way (odd declarations,
differences between Hummingbot's own connector discovery and a scan of the
*_utils.py files). See README.md beside this file.
"""

import argparse
import copy
import decimal
import enum
import glob
import importlib
import inspect
import json
import os
import pathlib
import sys
import typing

import stubs

notes = []


def note(msg):
    notes.append(msg)
    print("note:", msg, file=sys.stderr)


# ---------------------------------------------------------------------------
# Reading pydantic models


def undefined():
    from pydantic_core import PydanticUndefined
    return PydanticUndefined


def is_model(t):
    from pydantic import BaseModel
    return inspect.isclass(t) and issubclass(t, BaseModel)


def strip_optional(t):
    """Returns (inner, True) for Optional[inner], else (t, False)."""
    if typing.get_origin(t) is typing.Union:
        args = [a for a in typing.get_args(t) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(t)) == 2:
            return args[0], True
    return t, False


def mode_models(t):
    """The models of a Union made only of models (a "mode" field), or None."""
    if typing.get_origin(t) is typing.Union:
        args = typing.get_args(t)
        if args and all(is_model(a) for a in args):
            return list(args)
    return None


def title(m):
    return m.model_config.get("title") or m.__name__


def is_secret_type(t):
    from pydantic import SecretStr
    inner, _ = strip_optional(t)
    return inner is SecretStr


def type_text(t):
    """The declared type, spelt the way Python's typing spells it."""
    from pydantic import SecretStr
    inner, opt = strip_optional(t)
    if opt:
        return "Optional[%s]" % type_text(inner)
    ms = mode_models(t)
    if ms:
        return "mode[%s]" % "|".join(title(m) for m in ms)
    if is_model(t):
        return "model[%s]" % title(t)
    if t is SecretStr:
        return "SecretStr"
    if inspect.isclass(t) and issubclass(t, enum.Enum):
        return "Enum[%s]" % ", ".join(repr(e.value) for e in t)
    origin = typing.get_origin(t)
    if origin is typing.Literal:
        return "Literal[%s]" % ", ".join(repr(a) for a in typing.get_args(t))
    if origin is not None:
        name = {list: "List", dict: "Dict", tuple: "Tuple", set: "Set", typing.Union: "Union"}.get(origin, getattr(origin, "__name__", str(origin)))
        args = typing.get_args(t)
        return "%s[%s]" % (name, ", ".join(type_text(a) for a in args)) if args else name
    if t is list:
        return "List"
    if t is dict:
        return "Dict"
    if inspect.isclass(t):
        return t.__name__
    return str(t).replace("typing.", "")


def plain_value(v):
    """A default value as JSON data."""
    from pydantic import BaseModel, SecretStr
    if isinstance(v, SecretStr):
        return v.get_secret_value()
    if isinstance(v, BaseModel):
        return {k: plain_value(getattr(v, k)) for k in type(v).model_fields}
    if isinstance(v, enum.Enum):
        return plain_value(v.value)
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, pathlib.PurePath):
        return str(v)
    if isinstance(v, (list, tuple, set)):
        return [plain_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain_value(x) for k, x in v.items()}
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def field_default(f):
    """(has_default, default) of a pydantic FieldInfo."""
    if f.default is not undefined() and f.default is not Ellipsis:
        return True, f.default
    if f.default_factory is not None:
        return True, f.default_factory()
    return False, None


def extra_of(f):
    e = f.json_schema_extra
    return e if isinstance(e, dict) else {}


# ---------------------------------------------------------------------------
# Connectors


def connector_kind(f):
    secure = bool(extra_of(f).get("is_secure", False))
    if secure:
        return "secret"
    if is_secret_type(f.annotation):
        return "plaintext_secret"
    return "plain"


def connector_rows(name, cls, root):
    """One row per field of the connector's config class; nested models add
    rows for their own fields, with the mode they belong to."""
    source = os.path.relpath(inspect.getsourcefile(cls), root)
    rows = []

    def walk(model, prefix, mode):
        for fname, f in model.model_fields.items():
            if fname == "connector" and not prefix:
                continue
            has_def, dflt = field_default(f)
            kind = connector_kind(f)
            if extra_of(f).get("is_secure") and not is_secret_type(f.annotation):
                note("%s: %s%s is_secure but not SecretStr (decrypted at load, never encrypted at save) (%s)" % (name, prefix, fname, source))
            ms = mode_models(f.annotation)
            if has_def and ms and dflt is not None:
                dflt = title(type(dflt))  # Hummingbot also takes a mode's title as the value
            rows.append([name, prefix + fname, mode, kind, "" if has_def else "required",
                         type_text(f.annotation), json.dumps(plain_value(dflt), sort_keys=True) if has_def else "", source])
            if ms:
                for m in ms:
                    walk(m, prefix + fname + ".", title(m))
            elif is_model(strip_optional(f.annotation)[0]):
                walk(strip_optional(f.annotation)[0], prefix + fname + ".", "")

    walk(cls, "", "")
    return rows


def connectors(root):
    from hummingbot.client.settings import AllConnectorSettings
    found = {}
    for name, s in AllConnectorSettings.create_connector_settings().items():
        if s.config_keys is not None:
            found[name] = type(s.config_keys) if not inspect.isclass(s.config_keys) else s.config_keys
    # A second look, independent of Hummingbot's discovery: every KEYS and
    # OTHER_DOMAINS_KEYS in any *_utils.py of the connector tree.
    scanned = {}
    for path in sorted(glob.glob(os.path.join(root, "hummingbot/connector/**/*_utils.py"), recursive=True)):
        mod = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
        try:
            m = importlib.import_module(mod)
        except Exception as e:  # noqa: BLE001
            note("cannot import %s: %s" % (mod, e))
            continue
        keys = getattr(m, "KEYS", None)
        if keys is not None and not inspect.ismodule(keys):
            cls = keys if inspect.isclass(keys) else type(keys)
            if is_model(cls):
                scanned[cls.model_fields["connector"].default] = cls
        for dom, keys in (getattr(m, "OTHER_DOMAINS_KEYS", None) or {}).items():
            cls = keys if inspect.isclass(keys) else type(keys)
            scanned[dom] = cls
    for n in sorted(set(found) ^ set(scanned)):
        note("connector %s: found by %s only" % (n, "Hummingbot's discovery" if n in found else "the *_utils.py scan"))
    for n in sorted(set(found) & set(scanned)):
        if found[n] is not scanned[n]:
            note("connector %s: discovery and scan disagree on the class" % n)
    found.update({n: c for n, c in scanned.items() if n not in found})
    rows = []
    for name in sorted(found):
        cls = found[name]
        declared = cls.model_fields["connector"].default
        if declared != name:
            note("connector %s: its class declares connector=%r (%s)" % (name, declared, cls.__name__))
        rows += connector_rows(name, cls, root)
    return rows


def write_tsv(path, version, rows):
    with open(path, "w") as out:
        out.write("# Hummingbot v%s connector config fields, generated by tools/hbfacts from Hummingbot's source; do not edit.\n" % version)
        out.write("# One row per field. Columns: connector, field (nested fields as parent.child), mode (the model of a\n")
        out.write("# mode field the row belongs to, empty for fields every file has), kind (secret: Hummingbot encrypts it;\n")
        out.write("# plaintext_secret: a SecretStr Hummingbot stores and reads in plaintext; plain), required (no default),\n")
        out.write("# type, default (JSON), source file.\n")
        for r in rows:
            out.write("\t".join(r) + "\n")


# ---------------------------------------------------------------------------
# ClientConfigMap

# How the field validators of ClientConfigMap turn a mapping into one of the
# models of a mode field. Checked against the real class in probe_modes.
MODE_RESOLUTION = {
    "kill_switch_mode": "try_each",  # a title, {} (the disabled mode), or a mapping one of the models takes
    "db_mode": "try_each",
    "anonymized_metrics_mode": "try_each",
    "rate_oracle_source": "name_key",  # a title, or a mapping whose "name" is a title; other keys are not checked
}


def type_json(t, models):
    """A machine-readable type; models collects the models it names."""
    from pydantic import SecretStr
    inner, opt = strip_optional(t)
    if opt:
        return {"kind": "optional", "of": type_json(inner, models)}
    ms = mode_models(t)
    if ms:
        for m in ms:
            add_model(m, models)
        return {"kind": "mode", "models": [m.__name__ for m in ms]}
    if is_model(t):
        add_model(t, models)
        return {"kind": "model", "model": t.__name__}
    if t is SecretStr:
        return {"kind": "secret"}
    if inspect.isclass(t) and issubclass(t, enum.Enum):
        return {"kind": "choice", "values": [e.value for e in t]}
    origin = typing.get_origin(t)
    if origin is typing.Literal:
        return {"kind": "choice", "values": list(typing.get_args(t))}
    if origin in (list, typing.List) or t in (list, typing.List):
        args = typing.get_args(t)
        return {"kind": "list", "of": type_json(args[0], models) if args else {"kind": "any"}}
    if origin in (dict, typing.Dict) or t in (dict, typing.Dict):
        args = typing.get_args(t)
        return {"kind": "map", "of": type_json(args[1], models) if args else {"kind": "any"}}
    simple = {str: "string", int: "int", float: "float", decimal.Decimal: "decimal", bool: "bool", pathlib.Path: "string"}
    if t in simple:
        return {"kind": simple[t]}
    note("client config: type %s left unchecked" % type_text(t))
    return {"kind": "any"}


def bounds(f):
    out = {}
    for m in f.metadata:
        for k in ("ge", "gt", "le", "lt"):
            v = getattr(m, k, None)
            if v is not None:
                out[k] = float(v)
    return out


def add_model(m, models):
    if m.__name__ in models:
        return
    models[m.__name__] = None  # placeholder against cycles
    fields = []
    for fname, f in m.model_fields.items():
        has_def, dflt = field_default(f)
        entry = {"name": fname, "type": type_json(f.annotation, models), "declared": type_text(f.annotation)}
        if fname == "instance_id":
            entry["default_generated"] = True  # a new random id each time Hummingbot writes the file
        elif has_def and mode_models(f.annotation) and dflt is not None:
            entry["default"] = title(type(dflt))
        elif has_def:
            entry["default"] = portable(plain_value(dflt))
        else:
            entry["required"] = True
        if extra_of(f).get("is_secure"):
            entry["secure"] = True
        entry.update(bounds(f))
        if fname in MODE_RESOLUTION and entry["type"]["kind"] == "mode":
            entry["type"]["resolve"] = MODE_RESOLUTION[fname]
        fields.append(entry)
    models[m.__name__] = {"title": title(m), "extra": m.model_config.get("extra") or "ignore", "fields": fields}


def client_config():
    from hummingbot.client.config.client_config_map import ClientConfigMap
    models = {}
    add_model(ClientConfigMap, models)
    return {"root": "ClientConfigMap", "models": dict(sorted(models.items()))}


def write_json(out, v, indent=0):
    """JSON with one short value per line: sorted keys, diff-friendly."""
    flat = json.dumps(v, sort_keys=True)
    pad = " " * indent
    if len(flat) + indent <= 150 or not isinstance(v, (dict, list)) or not v:
        out.write(flat)
        return
    if isinstance(v, list):
        out.write("[\n")
        for i, x in enumerate(v):
            out.write(pad + " ")
            write_json(out, x, indent + 1)
            out.write(",\n" if i < len(v) - 1 else "\n")
        out.write(pad + "]")
        return
    out.write("{\n")
    keys = sorted(v)
    for i, k in enumerate(keys):
        out.write(pad + " " + json.dumps(k) + ": ")
        write_json(out, v[k], indent + 1)
        out.write(",\n" if i < len(keys) - 1 else "\n")
    out.write(pad + "}")


def accepts(data):
    """Whether Hummingbot's loader takes data as conf_client.yml: it builds
    ClientConfigMap(**data), as load_client_config_map_from_file does."""
    from hummingbot.client.config.client_config_map import ClientConfigMap
    try:
        ClientConfigMap(**copy.deepcopy(data))
        return True
    except Exception:  # noqa: BLE001 (validation errors, and the KeyError of rate_oracle_source)
        return False


HB_ROOT = None


def portable(v):
    """A default that names the source tree is given as the image's path."""
    if isinstance(v, str) and HB_ROOT and v.startswith(HB_ROOT):
        return "/home/hummingbot" + v[len(HB_ROOT):]
    if isinstance(v, dict):
        return {k: portable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [portable(x) for x in v]
    return v


def defaults_document():
    """conf_client.yml as Hummingbot writes it with every default."""
    from hummingbot.client.config.client_config_map import ClientConfigMap
    from hummingbot.client.config.config_helpers import ClientConfigAdapter
    adapter = ClientConfigAdapter(ClientConfigMap())
    doc = portable(plain_value(adapter._dict_in_conf_order()))
    doc["instance_id"] = "0123456789abcdef0123456789abcdef01234567"  # random in Hummingbot
    return doc


# Cases run through the real ClientConfigMap; their verdicts are committed
# with the data, and nectar's tests require its checker to agree with each.
def probe_cases():
    full = defaults_document()
    cases = [
        ("empty file", {}),
        ("every default, as Hummingbot writes it", full),
        ("unknown top-level key", {"log_lvl": "INFO"}),
        ("unknown nested key", {"mqtt_bridge": {"mqtt_hots": "x"}}),
        ("port as digits", {"mqtt_bridge": {"mqtt_port": "8883"}}),
        ("port with blanks", {"mqtt_bridge": {"mqtt_port": " 8883 "}}),
        ("port not a number", {"mqtt_bridge": {"mqtt_port": "abc"}}),
        ("port as float with no fraction", {"mqtt_bridge": {"mqtt_port": 8883.0}}),
        ("port as float with a fraction", {"mqtt_bridge": {"mqtt_port": 8883.5}}),
        ("port as decimal text", {"mqtt_bridge": {"mqtt_port": "8883.0"}}),
        ("port as bool", {"mqtt_bridge": {"mqtt_port": True}}),
        ("port null", {"mqtt_bridge": {"mqtt_port": None}}),
        ("host as int", {"mqtt_bridge": {"mqtt_host": 1234}}),
        ("host null", {"mqtt_bridge": {"mqtt_host": None}}),
        ("ssl as word", {"mqtt_bridge": {"mqtt_ssl": "yes"}}),
        ("ssl as 1", {"mqtt_bridge": {"mqtt_ssl": 1}}),
        ("ssl as 2", {"mqtt_bridge": {"mqtt_ssl": 2}}),
        ("ssl as other word", {"mqtt_bridge": {"mqtt_ssl": "maybe"}}),
        ("mqtt_bridge not a mapping", {"mqtt_bridge": "on"}),
        ("mqtt_bridge null", {"mqtt_bridge": None}),
        ("bridge on", {"instance_id": "bot-1", "mqtt_bridge": {"mqtt_host": "broker", "mqtt_port": 1883, "mqtt_username": "u",
                                                              "mqtt_password": "p", "mqtt_ssl": False, "mqtt_autostart": True}}),
        ("log level", {"log_level": "DEBUG"}),
        ("log level as int", {"log_level": 10}),
        ("tick size below the bound", {"tick_size": 0.01}),
        ("tick size as text", {"tick_size": "2"}),
        ("float from bool", {"strategy_report_interval": True}),
        ("decimal from text", {"rate_limits_share_pct": "50"}),
        ("decimal from bool", {"rate_limits_share_pct": True}),
        ("decimal not a number", {"rate_limits_share_pct": "lots"}),
        ("kill switch by title", {"kill_switch_mode": "kill_switch_enabled"}),
        ("kill switch unknown title", {"kill_switch_mode": "kill_switch_on"}),
        ("kill switch empty mapping", {"kill_switch_mode": {}}),
        ("kill switch with rate", {"kill_switch_mode": {"kill_switch_rate": -10}}),
        ("kill switch with unknown key", {"kill_switch_mode": {"kill_switch_rat": -10}}),
        ("kill switch with bad rate", {"kill_switch_mode": {"kill_switch_rate": "x"}}),
        ("db mode sqlite", {"db_mode": {"db_engine": "sqlite"}}),
        ("db mode other", {"db_mode": {"db_engine": "postgres", "db_host": "h", "db_port": 5432, "db_username": "u",
                                       "db_password": "p", "db_name": "n"}}),
        ("db mode by title", {"db_mode": "other_db_engine"}),
        ("db mode unknown key", {"db_mode": {"db_engin": "sqlite"}}),
        ("metrics disabled by title", {"anonymized_metrics_mode": "anonymized_metrics_disabled"}),
        ("metrics enabled mapping", {"anonymized_metrics_mode": {"anonymized_metrics_interval_min": 15}}),
        ("rate source by title", {"rate_oracle_source": "coin_gecko"}),
        ("rate source mapping", {"rate_oracle_source": {"name": "binance"}}),
        ("rate source mapping without name", {"rate_oracle_source": {"extra_tokens": []}}),
        ("rate source unknown name", {"rate_oracle_source": {"name": "nowhere"}}),
        ("rate source unknown title", {"rate_oracle_source": "nowhere"}),
        ("autofill import", {"autofill_import": "start"}),
        ("autofill import unknown", {"autofill_import": "go"}),
        ("tables format", {"tables_format": "simple"}),
        ("tables format unknown", {"tables_format": "fancy"}),
        ("paper trade", {"paper_trade": {"paper_trade_exchanges": ["binance"], "paper_trade_account_balance": {"BTC": 1, "USDT": "100"}}}),
        ("paper balance not a number", {"paper_trade": {"paper_trade_account_balance": {"BTC": "x"}}}),
        ("gateway port as int", {"gateway": {"gateway_api_port": 15888}}),
        ("gateway port as text", {"gateway": {"gateway_api_port": "15888"}}),
        ("balance limits", {"balance_asset_limit": {"binance": {"BTC": "0.5"}}}),
        ("balance limits wrong shape", {"balance_asset_limit": {"binance": "0.5"}}),
        ("send error logs word", {"send_error_logs": "no"}),
        ("send error logs other word", {"send_error_logs": "nope"}),
        ("color", {"color": {"top_pane": "#000000"}}),
        ("logger whitelist", {"logger_override_whitelist": ["a", "b"]}),
        ("commands timeout", {"commands_timeout": {"create_command_timeout": 10}}),
        ("market data collection", {"market_data_collection": {"market_data_collection_enabled": True, "market_data_collection_interval": 60}}),
        ("global token", {"global_token": {"global_token_name": "USDT", "global_token_symbol": "$"}}),
    ]
    return [{"name": n, "config": plain_value(c), "hummingbot_accepts": accepts(c)} for n, c in cases]


def probe_modes():
    """Stops the run when the mode fields no longer behave as MODE_RESOLUTION says."""
    want = {
        "kill_switch_mode": [({"kill_switch_rate": 5}, True), ({"bogus": 1}, False), ("kill_switch_disabled", True)],
        "db_mode": [({"db_engine": "sqlite"}, True), ({"bogus": 1}, False)],
        "anonymized_metrics_mode": [({}, True), ({"bogus": 1}, False)],
        "rate_oracle_source": [({"name": "binance", "bogus": 1}, True), ({"bogus": 1}, False)],
    }
    for field, cases in want.items():
        for value, ok in cases:
            if accepts({field: value}) != ok:
                raise SystemExit("mode field %s: %r accepted=%s, expected %s; update MODE_RESOLUTION" % (field, value, not ok, ok))


# ---------------------------------------------------------------------------
# Configs a bot runs, and what the image ships


def model_fields_json(cls):
    models = {}
    out = []
    for fname, f in cls.model_fields.items():
        has_def, dflt = field_default(f)
        e = {"name": fname, "declared": type_text(f.annotation)}
        if has_def:
            e["default"] = plain_value(dflt)
        else:
            e["required"] = True
        out.append(e)
    return out


def image_files(root, folder):
    """Files the Dockerfile copies into /home/hummingbot/<folder>, as paths
    relative to /home/hummingbot. Reads the COPY lines rather than assuming."""
    dockerfile = open(os.path.join(root, "Dockerfile")).read().splitlines()
    copies = []
    for line in dockerfile:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "COPY" and not parts[1].startswith("--"):
            copies.append((parts[1].rstrip("/"), parts[2].rstrip("/")))
    files = []
    for src, dst in copies:
        if dst != folder:
            continue
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, src)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for fn in filenames:
                rel = os.path.relpath(os.path.join(dirpath, fn), os.path.join(root, src))
                files.append(dst + "/" + rel.replace(os.sep, "/"))
    if not files:
        raise SystemExit("the Dockerfile copies nothing into %s/" % folder)
    return sorted(files)


def v1_strategies(root):
    # As hummingbot.get_strategy_list does outside a development checkout.
    folder = os.path.join(root, "hummingbot", "strategy")
    from hummingbot import DEV_STRATEGY_PREFIX
    return sorted(d for d in os.listdir(folder)
                  if os.path.isdir(os.path.join(folder, d)) and not d.startswith("__") and not d.startswith(DEV_STRATEGY_PREFIX))


def configs(root):
    from hummingbot.strategy.strategy_v2_base import StrategyV2ConfigBase
    from hummingbot.strategy_v2.controllers.controller_base import ControllerConfigBase
    from hummingbot.client import settings
    from hummingbot.cli import strategy_configs
    return {
        "script": {
            "fields": model_fields_json(StrategyV2ConfigBase),
            "scripts_dir": str(settings.SCRIPT_STRATEGIES_MODULE),
            "controller_runner": strategy_configs.V2_CONTROLLER_RUNNER,
        },
        "controller": {
            "fields": model_fields_json(ControllerConfigBase),
            "module": settings.CONTROLLERS_MODULE,
        },
        "v1_strategies": v1_strategies(root),
    }


# ---------------------------------------------------------------------------


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hummingbot", required=True, help="a work tree of Hummingbot's source")
    ap.add_argument("--pythonpath", action="append", default=[], help="extra import path (e.g. tabulate's source)")
    ap.add_argument("--out", default=os.path.dirname(os.path.dirname(here)), help="nectar's repository")
    args = ap.parse_args()
    root = os.path.abspath(args.hummingbot)
    global HB_ROOT
    HB_ROOT = root
    for p in args.pythonpath:
        sys.path.insert(0, os.path.abspath(p))
    stubs.install(root)
    os.chdir(root)  # Hummingbot resolves some paths from the working directory
    version = open(os.path.join(root, "hummingbot", "VERSION")).read().strip()

    rows = connectors(root)
    write_tsv(os.path.join(args.out, "internal", "connector", "hummingbot-v%s.tsv" % version), version, rows)

    probe_modes()
    data = {
        "hummingbot_version": version,
        "client_config": client_config(),
        "client_config_defaults": defaults_document(),
        "client_config_probes": probe_cases(),
        "configs": configs(root),
        "image": {
            "home": "/home/hummingbot",
            "scripts": image_files(root, "scripts"),
            "controllers": image_files(root, "controllers"),
        },
    }
    path = os.path.join(args.out, "internal", "hummingbot", "hummingbot-v%s.json" % version)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        write_json(out, data)
        out.write("\n")
    print("wrote %d connector rows (%d connectors), %d client config models" %
          (len(rows), len({r[0] for r in rows}), len(data["client_config"]["models"])), file=sys.stderr)


if __name__ == "__main__":
    main()
