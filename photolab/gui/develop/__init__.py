"""The Develop panel and its tools: sliders, crop and rotate, denoise (controls, Auto, loupe dock), the white-balance eyedropper."""
