module github.com/tnco-drivers/openstack-driver

go 1.26
