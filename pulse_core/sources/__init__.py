"""Building blocks shared by source plugins that talk to Proxmox HTTPS APIs."""
