#!/usr/bin/env python3
#
# getToken.py: get a JWT access token from an Accelerator REST v3 server (gridq serves the same protocol).
#
# Written from Altair's documented protocol: POST the form fields `username` and `password` to
# <scheme>://<host:port>/api/v3/token; the reply is {"token_type", "access_token", "expires_in"}
# and the Authorization header value is "<token_type>:<access_token>". A failure is a status
# above 300 with a JSON body holding an `error` key.
#
# Usage (as a module):
#     from getToken import getJWT
#     jwt = getJWT(url, username, password)             # as documented
#     jwt = getJWT(session, url, username, password)    # with a requests.Session (keep-alive), as nc_info.py calls it
#     requests.get(url + "/api/v3/jobs/1", headers={"Authorization": jwt})
#
# Usage (as a script): NC_URL=... ./getToken.py [USERNAME]   (prints the Authorization value)
#
# HTTPS: certificates are verified; for a self-signed server certificate point
# REQUESTS_CA_BUNDLE at it (gridq keeps it in <data folder>/tls/self-signed.crt).

import sys

import requests


def getJWT(*args):
    if len(args) == 4:
        session, url, username, password = args
    elif len(args) == 3:
        session = requests
        url, username, password = args
    else:
        raise TypeError("getJWT([session,] url, username, password)")

    # Keep only the scheme and host:port of the URL, then append the token path.
    scheme = url.split(":")[0]
    hostport = url.split("/")[2]
    tokenUrl = "{0}://{1}/api/v3/token".format(scheme, hostport)

    myauth = {"username": username, "password": password}
    r = session.post(tokenUrl, data=myauth)
    if r.status_code > 300:
        print(r.status_code)
        print(r.json())
        print(r.json()["error"])
        exit(1)
    token = r.json()
    return token["token_type"] + ":" + token["access_token"]


if __name__ == "__main__":
    import getpass
    import os

    user = sys.argv[1] if len(sys.argv) > 1 else os.environ["USER"]
    print(getJWT(os.environ["NC_URL"], user, getpass.getpass("Password:")))
