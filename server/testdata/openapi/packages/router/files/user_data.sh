#!/bin/sh
echo "edge router ready" > /etc/motd
