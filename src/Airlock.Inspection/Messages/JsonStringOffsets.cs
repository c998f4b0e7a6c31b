namespace Airlock.Inspection.Messages;

/// <summary>
/// Maps UTF-16 offsets in a decoded JSON string back to byte offsets in its raw (escaped,
/// UTF-8) form, so a redaction replaces exactly the bytes of the matched value. Each decoded
/// unit comes from one raw element: an escape (<c>\n</c>, <c>\u0041</c>) or one UTF-8 sequence
/// (a 4-byte sequence yields two units, a surrogate pair). RFC 8259 §7 defines the escapes.
/// </summary>
internal sealed class JsonStringOffsets
{
    private readonly int[] _elementStart;
    private readonly int[] _elementEnd;

    private JsonStringOffsets(int[] elementStart, int[] elementEnd)
    {
        _elementStart = elementStart;
        _elementEnd = elementEnd;
    }

    /// <summary>Number of decoded UTF-16 units.</summary>
    public int Length => _elementStart.Length;

    /// <summary>Builds the map for the raw bytes between the quotes; null when the bytes are not valid.</summary>
    public static JsonStringOffsets? Build(ReadOnlySpan<byte> raw, int decodedLength)
    {
        var starts = new int[decodedLength];
        var ends = new int[decodedLength];
        int unit = 0;
        int i = 0;
        while (i < raw.Length)
        {
            int start = i;
            int units = 1;
            byte b = raw[i];
            if (b == (byte)'\\')
            {
                if (i + 1 >= raw.Length)
                {
                    return null;
                }

                i += raw[i + 1] == (byte)'u' ? 6 : 2;
            }
            else if (b < 0x80)
            {
                i += 1;
            }
            else if ((b & 0xE0) == 0xC0)
            {
                i += 2;
            }
            else if ((b & 0xF0) == 0xE0)
            {
                i += 3;
            }
            else if ((b & 0xF8) == 0xF0)
            {
                i += 4;
                units = 2;
            }
            else
            {
                return null;
            }

            if (i > raw.Length || unit + units > decodedLength)
            {
                return null;
            }

            for (int k = 0; k < units; k++)
            {
                starts[unit] = start;
                ends[unit] = i;
                unit++;
            }
        }

        return unit == decodedLength ? new JsonStringOffsets(starts, ends) : null;
    }

    /// <summary>
    /// Raw byte range covering decoded units [start, start+length). A value that begins or ends
    /// inside an escape or a surrogate pair widens to the whole raw element.
    /// </summary>
    public (int RawStart, int RawEnd) ToRaw(int start, int length)
    {
        return (_elementStart[start], _elementEnd[start + length - 1]);
    }
}
