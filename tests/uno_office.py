"""LibreOffice driven through UNO, for the tests that need more than a conversion (an open
password set, a sheet unprotected): the start of a script run with LibreOffice's own Python
(`import uno`), which starts a headless office on a pipe of its own and gives its desktop."""

PRELUDE = r"""
import json, os, subprocess, sys, time
import uno
from com.sun.star.beans import NamedValue, PropertyValue

def pv(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p

def start_office(soffice, profile, name):
    pipe = "%s-%d" % (name, os.getpid())
    office = subprocess.Popen(
        [soffice, "-env:UserInstallation=" + uno.systemPathToFileUrl(profile), "--headless",
         "--invisible", "--norestore", "--nologo", "--nodefault",
         "--accept=pipe,name=%s;urp;" % pipe],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(600):
            try:
                ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
                break
            except Exception:
                time.sleep(0.1)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    except BaseException:
        office.kill()
        raise
    return office, desktop
"""
