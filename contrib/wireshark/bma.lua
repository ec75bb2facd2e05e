-- bma.lua: BMA's per-packet mirror metadata as Wireshark fields, usable in display filters:
--
--   tshark -X lua_script:contrib/wireshark/bma.lua -r mirror.pcap -Y 'bma.reason == "port-scan"'
--   wireshark -X lua_script:contrib/wireshark/bma.lua mirror.pcap
--   (or copy it to ~/.local/lib/wireshark/plugins/ to load it always)
--
-- It reads the metadata from either place BMA puts it:
--   * the Geneve option of bmad's mirror copies (class 0xFFF0, type 0x42, 24 bytes, big-endian:
--     version(1) flags(1) policy id(2) reason bits(4) score x1000(4) original length(4)
--     timestamp ns(8)), with the VNI as the VM id;
--   * the packet comment of bma-analyzer's stored segments and query exports
--     ("bma vm=101 sensor=192.0.2.1 reasons=port-scan score=1.500 policy=0 flags=sticky
--     encap=geneve"). The same metadata is in the pcapng custom option 2989 (PEN 32473), which
--     Wireshark 4.0's Lua API cannot read; the comment carries every field of it.
--
-- Fields: bma.vm, bma.version, bma.flags, bma.flag (one per flag set: pre-trigger, sticky,
-- truncated, forced), bma.policy, bma.reasons (the bits), bma.reason (one per reason set:
-- new-destination, new-service, fan-out, port-scan, rate-spike, size-outlier, protocol-shift),
-- bma.score, bma.orig_len, bma.timestamp_ns, bma.time, bma.sensor, bma.encap, bma.source.

local bma = Proto("bma", "BMA mirror metadata")

local REASONS = { "new-destination", "new-service", "fan-out", "port-scan", "rate-spike", "size-outlier", "protocol-shift" }
local FLAGS = { "pre-trigger", "sticky", "truncated", "forced" }
local OPTION_CLASS, OPTION_TYPE, OPTION_LENGTH = 0xFFF0, 0x42, 24

local f = {
    vm = ProtoField.uint32("bma.vm", "VM id"),
    version = ProtoField.uint8("bma.version", "Version"),
    flags = ProtoField.uint8("bma.flags", "Flags", base.HEX),
    flag = ProtoField.string("bma.flag", "Flag"),
    policy = ProtoField.uint16("bma.policy", "Policy id"),
    reasons = ProtoField.uint32("bma.reasons", "Reason bits", base.HEX),
    reason = ProtoField.string("bma.reason", "Reason"),
    score = ProtoField.double("bma.score", "Score"),
    orig_len = ProtoField.uint32("bma.orig_len", "Original length"),
    timestamp_ns = ProtoField.uint64("bma.timestamp_ns", "Timestamp (ns since 1970)"),
    time = ProtoField.absolute_time("bma.time", "Time", base.UTC),
    sensor = ProtoField.string("bma.sensor", "Sensor"),
    encap = ProtoField.string("bma.encap", "Encapsulation"),
    source = ProtoField.string("bma.source", "Metadata from"),
}
bma.fields = { f.vm, f.version, f.flags, f.flag, f.policy, f.reasons, f.reason, f.score, f.orig_len,
               f.timestamp_ns, f.time, f.sensor, f.encap, f.source }

local geneve_f = Field.new("geneve")
local comment_f = Field.new("frame.comment")
local band = (bit32 and bit32.band) or bit.band

-- One name per bit set of `value`, lowest bit first.
local function names(value, list)
    local out = {}
    for i, name in ipairs(list) do
        if band(value, 2 ^ (i - 1)) ~= 0 then out[#out + 1] = name end
    end
    return out
end

-- The BMA option of one Geneve header (its protocol item's bytes), as a subtree.
local function dissect_geneve(range, tree)
    if range:len() < 8 then return end
    local options_end = 8 + band(range(0, 1):uint(), 0x3F) * 4
    local vni = range(4, 3):uint()
    local offset = 8
    while offset + 4 <= options_end and offset + 4 <= range:len() do
        local class, kind = range(offset, 2):uint(), range(offset + 2, 1):uint()
        local length = band(range(offset + 3, 1):uint(), 0x1F) * 4
        if class == OPTION_CLASS and kind == OPTION_TYPE and length >= OPTION_LENGTH and offset + 4 + OPTION_LENGTH <= range:len() then
            local d = range(offset + 4, OPTION_LENGTH)
            local t = tree:add(bma, d, "BMA mirror metadata (Geneve option)")
            t:add(f.source, "geneve-option"):set_generated()
            t:add(f.vm, range(4, 3), vni)
            t:add(f.version, d(0, 1))
            local flags = d(1, 1):uint()
            t:add(f.flags, d(1, 1))
            for _, name in ipairs(names(flags, FLAGS)) do t:add(f.flag, d(1, 1), name) end
            t:add(f.policy, d(2, 2))
            local bits = d(4, 4):uint()
            t:add(f.reasons, d(4, 4))
            for _, name in ipairs(names(bits, REASONS)) do t:add(f.reason, d(4, 4), name) end
            t:add(f.score, d(8, 4), d(8, 4):uint() / 1000)
            t:add(f.orig_len, d(12, 4))
            local ns = d(16, 8):uint64()
            t:add(f.timestamp_ns, d(16, 8))
            local billion = UInt64(1000000000)
            t:add(f.time, d(16, 8), NSTime.new((ns / billion):tonumber(), (ns % billion):tonumber()))
        end
        offset = offset + 4 + length
    end
end

-- bma-analyzer's packet comment: "bma vm=101 sensor=... reasons=a,b score=1.500 policy=3 flags=x encap=geneve".
local function dissect_comment(text, tree)
    if text:sub(1, 4) ~= "bma " then return end
    local t = tree:add(bma, "BMA mirror metadata (packet comment)")
    t:add(f.source, "pcapng-comment"):set_generated()
    for key, value in text:gmatch("(%w+)=(%S+)") do
        if key == "vm" then t:add(f.vm, tonumber(value) or 0)
        elseif key == "sensor" then t:add(f.sensor, value)
        elseif key == "encap" then t:add(f.encap, value)
        elseif key == "policy" then t:add(f.policy, tonumber(value) or 0)
        elseif key == "score" then t:add(f.score, tonumber(value) or 0)
        elseif key == "reasons" then
            local bits = 0
            for name in value:gmatch("[^,]+") do
                t:add(f.reason, name)
                for i, known in ipairs(REASONS) do if known == name then bits = bits + 2 ^ (i - 1) end end
            end
            t:add(f.reasons, bits)
        elseif key == "flags" then
            for name in value:gmatch("[^,]+") do t:add(f.flag, name) end
        end
    end
end

function bma.dissector(tvb, pinfo, tree)
    for _, g in ipairs({ geneve_f() }) do dissect_geneve(g.range, tree) end
    for _, c in ipairs({ comment_f() }) do dissect_comment(tostring(c.value), tree) end
end

register_postdissector(bma)
