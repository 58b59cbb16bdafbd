#!/usr/bin/python
#
# nc_info.py
#
# Usage
#
#      export NC_URL=<URL FOR NC QUEUE>
#      ./nc_info.py JOB_ID [JOB_ID ...]
#

import os, sys, json, requests
from getToken import getJWT

def getMyPassword():
    import getpass
    return getpass.getpass('Password:')

def infoPrint( text ):
    dd =  json.loads(text)
    id    = find(dd, 'ID')
    user  = find(dd, 'USER')
    group = find(dd, 'GROUP')

    print ("%-16s%s" % ("Job", id) )
    print ("%-16s%s,%s" % ("User,Group", user, group))
    print ("%-16s%s" % ("Command", find(dd, 'COMMAND')))
    print ("%-16s%s" % ("Status", find(dd, 'STATUSNC')))
    print ("%-16s%s" % ("   Host", find(dd, 'HOST')))
    print ("%-16s%s" % ("   Duration", find(dd, 'DURATIONPP')))

def find(jobdump, key):
    for c in range (0, len(jobdump['columns'])):
        if (jobdump['columns'][c]['field'] == key):
            break
    return jobdump['rows'][0][c]

#
# Main body
#
nc_url = os.environ['NC_URL']
scheme = nc_url.split(":")[0]
hostport = nc_url.split("/")[2]
url = "{0}://{1}".format(scheme, hostport)

ss = requests.Session()   # use keep-alive
jwt = getJWT(ss, url, os.environ["USER"], getMyPassword())
for arg in range (1,len(sys.argv)):
    jobid = sys.argv[arg]
    query = url + '/api/v3/jobs/' + jobid
    r = ss.get(query, headers={"Authorization": jwt},
		 verify=True)
    infoPrint(r.text)
    print ("")
