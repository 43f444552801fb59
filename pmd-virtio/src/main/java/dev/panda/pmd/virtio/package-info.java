/**
 * pmd-virtio: split virtqueues ({@code ring}) and the vhost-user control socket ({@code vhostuser});
 * see the module README.
 */
package dev.panda.pmd.virtio;
