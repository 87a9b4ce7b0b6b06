"""Analysis tools beyond single-channel edits: NMF directions, integrated-gradients
attribution, and editing a convolution kernel to ignore a channel-space direction."""
