#!/usr/bin/env python3
# Independent oracle for test_replay.sh: the alerts rules/classic.lua must
# give on a trade file, computed straight from the definitions in README
# "Windows" and "Rules" with exact decimals. Prints one line per alert:
# ts rule window_s change price reference.
import json, bisect, sys
from decimal import Decimal
frames=[json.loads(l) for l in open(sys.argv[1])]
ts=[f['T'] for f in frames]; px=[Decimal(f['p']) for f in frames]
rules=[("move_24h_5pct",86400,24,Decimal("0.05"),Decimal("0.04"),3600),
       ("move_1h_2pct",3600,1,Decimal("0.02"),Decimal("0.015"),900)]
state={r[0]:dict(phase="idle",notified=False,ever=False,last=0) for r in rules}
out=[]
for i,(t,p) in enumerate(zip(ts,px)):
    for name,W,R,thr,rearm,cool in rules:
        Wm,Rm=W*1000,R*1000
        if ts[0] > t-Wm: continue            # incomplete: unknown
        bound=((t-Wm)//Rm+1)*Rm               # ref = last tick with ts < bound
        j=bisect.bisect_left(ts,bound,0,i+1)-1
        ref=px[j]; change=p/ref-1
        st=state[name]
        level = rearm if st["phase"]=="firing" else thr
        cond = abs(change) >= level
        def cool_ok(): return (not st["ever"]) or t-st["last"]>=cool*1000
        def fire():
            st["phase"]="firing"
            if cool_ok():
                st["notified"]=True; st["ever"]=True; st["last"]=t
                out.append((t,name,W,change,p,ref))
        if st["phase"]=="idle":
            if cond: st["notified"]=False; fire()
        else:
            if cond:
                if not st["notified"] and cool_ok(): fire()
            else:
                st["phase"]="idle"; st["notified"]=False
for t,name,W,change,p,ref in out:
    print(t, name, W, "%.6f" % change, p, ref.normalize())
