# shellcheck shell=bash
# Open MPI for the GPU machine, which has no Debian packages: Debian's openmpi-bin, libopenmpi3 and
# libopenmpi-dev with their run-time libraries, carried in .deps (IAPT_DEVICE_PKGS below) and
# relocated from /usr to it. Sourced by scripts/device-check.sh with D=$PWD/.deps/usr; leaves the
# CMake arguments in MPI_CMAKE_ARGS (-DIAPT_MPI=OFF where the bundle has no MPI).
# The bundle: IAPT_DEVICE_PKGS="<make-deps-bundle.sh's default list> libpcre2-dev libpcre2-8-0 openmpi-bin libopenmpi3
#   libopenmpi-dev openmpi-common libevent-core-2.1-7 libevent-pthreads-2.1-7 libhwloc15 libpmix2
#   libmunge2 libudev1" ../shared/device/make-deps-bundle.sh   (about 12 MB)
# Each variable below moves a path Debian's build fixed under /usr or /etc into the bundle; traced
# with strace on a machine whose own Open MPI was hidden, no Open MPI or PMIx file was read outside.
L=$D/lib/x86_64-linux-gnu
MPI_CMAKE_ARGS=(-DIAPT_MPI=OFF)
if [[ -x $D/bin/orterun && -e $L/libmpi.so.40 && -e $D/share/openmpi/mpicxx-wrapper-data.txt ]]; then
  ln -sf orterun "$D/bin/mpiexec"
  ln -sf opal_wrapper "$D/bin/mpicxx"  # dpkg -x makes no alternatives
  export OPAL_PREFIX=$D OPAL_SYSCONFDIR=$D/../etc/openmpi  # libraries, plugins, help, wrapper data, mca-params
  export PMIX_LIBDIR=$L/pmix2/lib PMIX_DATADIR=$L/pmix2/share PMIX_SYSCONFDIR=$L/pmix2/share
  export PMIX_MCA_mca_base_component_path=$L/pmix2/lib/pmix HWLOC_PLUGINS_PATH=$L/hwloc
  export PATH=$D/bin:$PATH LD_LIBRARY_PATH=$L${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_plm=isolated                           # one node: no ssh or rsh
  export OMPI_MCA_btl_vader_single_copy_mechanism=none   # no CMA (ptrace) inside containers
  export OMPI_MCA_mca_base_component_show_load_errors=0  # the UCX, PSM2 and netlink plugins' libraries are not carried
  MPI_CMAKE_ARGS=(-DIAPT_MPI=ON -DMPI_CXX_COMPILER="$D/bin/mpicxx" -DMPIEXEC_EXECUTABLE="$D/bin/mpiexec")
  echo "MPI from the bundle: $(mpiexec --version 2>&1 | head -1)"
else
  echo "no MPI in the bundle ($D/bin/orterun or $L/libmpi.so.40 absent): the MPI build and tests are skipped"
fi
