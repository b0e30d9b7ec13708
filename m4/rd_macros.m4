# rackdhcpd's own autoconf helpers.

# RD_CHECK_CFLAG(FLAGS, [ACTION-IF-OK], [ACTION-IF-NOT])
# Try to compile and link an empty program with FLAGS added, treating any
# warning about an unknown flag as failure.
AC_DEFUN([RD_CHECK_CFLAG], [
	AS_VAR_PUSHDEF([rd_var], [rd_cv_cflag_$1])
	AC_CACHE_CHECK([whether $CC accepts $1], [rd_var], [
		rd_save_CFLAGS="$CFLAGS"
		CFLAGS="$CFLAGS -Werror $1"
		AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
			[AS_VAR_SET([rd_var], [yes])], [AS_VAR_SET([rd_var], [no])])
		CFLAGS="$rd_save_CFLAGS"
	])
	AS_VAR_IF([rd_var], [yes], [$2], [$3])
	AS_VAR_POPDEF([rd_var])
])

# RD_REQUIRE(VARIABLE-PREFIX, MODULES, DEBIAN-PACKAGES)
# pkg-config check that stops configure with the Debian package to install.
AC_DEFUN([RD_REQUIRE], [
	PKG_CHECK_MODULES([$1], [$2], [],
		[AC_MSG_ERROR([$2 not found through pkg-config.
On Debian or Ubuntu: apt-get install $3  (or run contrib/install-deps)])])
])
