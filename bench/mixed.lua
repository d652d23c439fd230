-- mixed.lua - wrk script for the "mixed" capture: GETs of several sizes
-- (35 B to 1 MiB), POSTs with 2 KiB and 16 KiB form bodies, gzip-chunked
-- responses and query strings, all over keep-alive connections.
local body2k = string.rep("field=value&", 171)
local body16k = string.rep("x", 16384)
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local gzip = { ["Accept-Encoding"] = "gzip" }
local reqs
local n = 0

init = function(args)
	reqs = {
		wrk.format("GET", "/index.html"),
		wrk.format("GET", "/1k.txt"),
		wrk.format("POST", "/echo", form, body2k),
		wrk.format("GET", "/index.html?user=42&page=7"),
		wrk.format("GET", "/chunked/page.txt", gzip),
		wrk.format("GET", "/4k.txt"),
		wrk.format("GET", "/index.html"),
		wrk.format("POST", "/echo", form, body16k),
		wrk.format("GET", "/1k.txt"),
		wrk.format("GET", "/index.html?q=ringsniff+bench&lang=en"),
		wrk.format("GET", "/64k.bin"),
		wrk.format("GET", "/index.html"),
		wrk.format("POST", "/echo", form, body2k),
		wrk.format("GET", "/1k.txt"),
		wrk.format("GET", "/chunked/page.txt", gzip),
		wrk.format("GET", "/4k.txt"),
		wrk.format("GET", "/index.html?user=7"),
		wrk.format("POST", "/echo", form, body2k),
		wrk.format("GET", "/1k.txt"),
		wrk.format("GET", "/index.html"),
	}
end

request = function()
	n = n + 1
	-- One 64 KiB body in 20 requests and one 1 MiB body in 1000 keep the
	-- bytes realistic without letting big bodies fill the capture.
	if n % 1000 == 0 then
		return wrk.format("GET", "/1m.bin")
	end
	return reqs[n % #reqs + 1]
end
