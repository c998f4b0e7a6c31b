using System.Globalization;

namespace Airlock.Inspection.Streaming;

/// <summary>
/// Turns the <c>partial_json</c> fragments of a streamed <c>tool_use</c> input into scannable
/// text: structure is passed through and string escapes (RFC 8259 §7) are decoded, so a
/// key written by the model into a Write tool call (<c>"-----BEGIN…\n…"</c>) reads as the
/// multi-line text it is. Fragments split anywhere, even inside an escape.
/// </summary>
internal sealed class PartialJsonTextDecoder
{
    private readonly char[] _hex = new char[4];
    private bool _inString;
    private int _escape; // 0: none, 1: after '\', 2..5: reading \u hex digits

    /// <summary>Decodes <paramref name="fragment"/> into <paramref name="destination"/> (never longer than the fragment); returns the count written.</summary>
    public int Decode(ReadOnlySpan<char> fragment, Span<char> destination)
    {
        int n = 0;
        foreach (char c in fragment)
        {
            if (!_inString)
            {
                if (c == '"')
                {
                    _inString = true;
                }

                destination[n++] = c;
                continue;
            }

            switch (_escape)
            {
                case 0:
                    if (c == '\\')
                    {
                        _escape = 1;
                    }
                    else
                    {
                        if (c == '"')
                        {
                            _inString = false;
                        }

                        destination[n++] = c;
                    }

                    break;
                case 1:
                    _escape = 0;
                    switch (c)
                    {
                        case 'n': destination[n++] = '\n'; break;
                        case 't': destination[n++] = '\t'; break;
                        case 'r': destination[n++] = '\r'; break;
                        case 'b': destination[n++] = '\b'; break;
                        case 'f': destination[n++] = '\f'; break;
                        case 'u': _escape = 2; break;
                        default: destination[n++] = c; break; // \" \\ \/
                    }

                    break;
                default:
                    _hex[_escape - 2] = c;
                    if (++_escape == 6)
                    {
                        _escape = 0;
                        if (int.TryParse(_hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                        {
                            destination[n++] = (char)code;
                        }
                    }

                    break;
            }
        }

        return n;
    }
}
