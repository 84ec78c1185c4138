# What `cmake --install` puts where (GNUInstallDirs; the Debian package is
# built from exactly this, see packaging/debian and scripts/build-deb.sh):
#   sbin/advpnd, sbin/advpnctl                          the daemon and its client
#   /etc/advpnd/{hub,spoke}.toml, hub-swanctl.conf     examples (conffiles in the package)
#   <unitdir>/advpnd-hub.service, advpnd-spoke.service, advpnd-spoke@.service
#   <prefix>/lib/sysusers.d/advpnd.conf, tmpfiles.d/advpnd.conf   the advpnd user, its folders
#   share/man/man5/advpnd.toml.5, man8/advpnd.8, man8/advpnctl.8
include(GNUInstallDirs)

set(ADVPND_SYSTEMD_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" CACHE PATH
    "Where the systemd units go (Debian bookworm: /lib/systemd/system)")

install(TARGETS advpnd advpnctl RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})

# The examples: CMAKE_INSTALL_FULL_SYSCONFDIR is /etc for the /usr prefix.
install(FILES deploy/hub.toml deploy/spoke.toml deploy/hub-swanctl.conf
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/advpnd)

# The units name the installed binary; configure_file puts its path in.
set(ADVPND_SBINDIR "${CMAKE_INSTALL_FULL_SBINDIR}")
foreach(unit advpnd-hub.service advpnd-spoke.service advpnd-spoke@.service)
  configure_file(deploy/systemd/${unit}.in ${CMAKE_BINARY_DIR}/systemd/${unit} @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/systemd/${unit} DESTINATION ${ADVPND_SYSTEMD_UNITDIR})
endforeach()
install(FILES deploy/systemd/advpnd.sysusers DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d RENAME advpnd.conf)
install(FILES deploy/systemd/advpnd.tmpfiles DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d RENAME advpnd.conf)

install(FILES docs/man/advpnd.8 docs/man/advpnctl.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES docs/man/advpnd.toml.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
