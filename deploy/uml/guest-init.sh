#!/bin/sh
# advpnd interop lab: the init of a user-mode-Linux guest (run by the rootfs's PID 1 stub,
# /sbin/advpnd-guest-stub, after it mounted the run's lab folder on /lab).
#
# Environment (kernel command line KEY=value words reach init as environment variables):
#   GUEST   this guest's name; its folder is /lab/$GUEST
#
# Protocol with the host-side runner (deploy/uml/lab.py), all through the hostfs folder:
#   /lab/$GUEST/setup.sh      written by the host before boot: network, GRE, FRR configs, daemons
#   /lab/$GUEST/ready         written here once setup.sh ran (its exit code inside)
#   /lab/$GUEST/cmd/N.sh      a command from the host; run once, output in N.out, exit code in
#                             N.rc (written last, via rename, so the host never reads half)
#   /lab/$GUEST/cmd/stop      the host asks for a poweroff
# Only names found by readdir (a glob) are opened: hostfs may keep a negative dentry for a
# name looked up before the host created it, and would then never see the file.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
G=/lab/$GUEST

mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
# The root is a read-only hostfs shared by every guest: all writable state lives in tmpfs.
for d in /run /tmp /var/log /var/tmp /var/lib/frr /etc/frr /etc/swanctl /var/lib/strongswan; do
    [ -d "$d" ] && mount -t tmpfs tmpfs "$d"
done
mkdir -p /run/frr /var/log/frr /etc/swanctl/conf.d
hostname "$GUEST"
ip link set lo up

sh "$G/setup.sh" > "$G/setup.log" 2>&1
echo $? > "$G/ready.tmp"
mv "$G/ready.tmp" "$G/ready"

stop=0
while [ $stop = 0 ]; do
    for f in "$G"/cmd/*; do
        case "$f" in
            */stop) stop=1 ;;
            *.sh)
                n=${f%.sh}
                sh "$f" > "$n.out" 2>&1
                echo $? > "$n.rc.tmp"
                mv "$f" "$n.ran"
                mv "$n.rc.tmp" "$n.rc"
                ;;
        esac
    done
    [ $stop = 1 ] || sleep 0.2
done

# Let the host read what the daemons wrote, then power off (the UML process exits 0).
[ -f "$G/teardown.sh" ] && sh "$G/teardown.sh" > "$G/teardown.log" 2>&1
sync
/bin/busybox poweroff -f
