"""WebHDFS query parameters, read as Hadoop reads them: names in lower case, `op` in any case,
booleans `true`/`false`, numbers checked, each bad value an IllegalArgumentException."""

from __future__ import annotations

from lulea.storage.namespace.errors import illegal

GET_OPS = {"OPEN", "GETFILESTATUS", "LISTSTATUS", "LISTSTATUS_BATCH", "GETCONTENTSUMMARY",
           "GETFILECHECKSUM", "GETHOMEDIRECTORY", "GETDELEGATIONTOKEN", "GETTRASHROOT",
           "GETQUOTAUSAGE", "CHECKACCESS", "GETFILEBLOCKLOCATIONS", "GETACLSTATUS", "GETXATTRS",
           "LISTXATTRS", "GETSNAPSHOTDIFF", "GETSTORAGEPOLICY", "GETSERVERDEFAULTS"}
PUT_OPS = {"CREATE", "MKDIRS", "RENAME", "SETPERMISSION", "SETOWNER", "SETTIMES", "SETREPLICATION",
           "RENEWDELEGATIONTOKEN", "CANCELDELEGATIONTOKEN", "SETQUOTA", "CREATESYMLINK",
           "SETACL", "MODIFYACLENTRIES", "REMOVEACLENTRIES", "REMOVEDEFAULTACL", "REMOVEACL",
           "SETXATTR", "REMOVEXATTR", "CREATESNAPSHOT", "RENAMESNAPSHOT", "SETSTORAGEPOLICY"}
POST_OPS = {"APPEND", "CONCAT", "TRUNCATE", "UNSETSTORAGEPOLICY"}
DELETE_OPS = {"DELETE", "DELETESNAPSHOT"}
OPS = {"GET": GET_OPS, "PUT": PUT_OPS, "POST": POST_OPS, "DELETE": DELETE_OPS}
ENUM = {"GET": "GetOpParam", "PUT": "PutOpParam", "POST": "PostOpParam", "DELETE": "DeleteOpParam"}


def op_of(method: str, params: dict[str, str]) -> str:
    raw = params.get("op")
    if raw is None:
        raise illegal('Invalid value for webhdfs parameter "op": op is missing')
    op = raw.upper()
    if method not in OPS or op not in OPS[method]:
        raise illegal(f'Invalid value for webhdfs parameter "op": No enum constant '
                      f"org.apache.hadoop.hdfs.web.resources.{ENUM.get(method, 'GetOpParam')}.Op.{op}")
    return op


def boolean(params: dict[str, str], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise illegal(f'Invalid value for webhdfs parameter "{name}": Failed to parse "{value}" to Boolean.')


def integer(params: dict[str, str], name: str, default: int | None = None, *,
            minimum: int | None = 0, maximum: int | None = 2**63 - 1) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise illegal(f'Invalid value for webhdfs parameter "{name}":'
                      f' Failed to parse "{value}" as a long') from None
    if minimum is not None and number < minimum:
        raise illegal(f'Invalid value for webhdfs parameter "{name}": {name} = {number} < {minimum}')
    if maximum is not None and number > maximum:
        raise illegal(f'Invalid value for webhdfs parameter "{name}": {name} = {number} > {maximum}')
    return number


def permission(params: dict[str, str], default: str) -> str:
    value = params.get("permission")
    if value is None or value == "":
        return default
    try:
        number = int(value, 8)
    except ValueError:
        raise illegal(f'Invalid value for webhdfs parameter "permission": "{value}" is not octal') from None
    if not 0 <= number <= 0o1777 or len(value) > 4:
        raise illegal(f'Invalid value for webhdfs parameter "permission": {value} is out of range [0, 1777]')
    return format(number, "o")
