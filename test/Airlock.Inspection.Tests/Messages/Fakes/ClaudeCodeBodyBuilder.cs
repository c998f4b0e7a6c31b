using System.Text;

namespace Airlock.Inspection.Tests.Messages.Fakes;

/// <summary>
/// Builds a request body shaped like what Claude Code sends (claude-code.md §1.3): model,
/// messages (text with cache_control, a role:system message, thinking + signature, tool_use,
/// tool_result as string and as nested blocks with an image, redacted_thinking, a text
/// document), three system blocks, a dozen tools with long schemas, metadata.user_id holding
/// escaped JSON, thinking/context_management/output_config/stream. Content is seeded random
/// text with unicode, quotes, backslashes, tabs and newlines. Every string slot is recorded
/// with its raw byte range, its expected JSON location and whether it must be scanned.
/// </summary>
public static class ClaudeCodeBodyBuilder
{
    private static readonly string[] Words =
    [
        "const", "return", "function", "await", "import", "from", "config", "the", "failing", "test",
        "résumé", "naïve", "Größe", "日本語", "données", "🚀", "😀", "Ünïcødé", "path/to/file.ts", "x=1;",
        "\"quoted\"", "C:\\Users\\dev", "tab\there", "line\nbreak", "{\"json\":true}", "<tag>", "&amp;", "100%",
    ];

    /// <summary>Builds a body with <paramref name="turns"/> tool round trips after the opening messages.</summary>
    public static (byte[] Body, List<Slot> Slots) Build(int seed, int turns = 3, double escapeLetters = 0.0, bool escapeNonAscii = false)
    {
        var random = new Random(seed);
        var b = new RawJsonBuilder(random) { EscapeLetters = escapeLetters, EscapeNonAscii = escapeNonAscii };
        int m = 0;
        b.Raw("{").Prop("model", "claude-opus-5-5").Raw(",\"messages\":[");

        // [0] user turn with a system reminder and the prompt (cache_control on the last block).
        b.Raw("{\"role\":\"user\",\"content\":[{\"type\":\"text\",");
        b.Prop("text", "<system-reminder>" + Text(random, 60) + "</system-reminder>", SlotKind.Scanned, $"messages[{m}].content[0].text");
        b.Raw("},{\"type\":\"text\",");
        b.Prop("text", Text(random, 40), SlotKind.Scanned, $"messages[{m}].content[1].text");
        b.Raw(",\"cache_control\":{\"type\":\"ephemeral\"}}]}");
        m++;

        // [1] the role:system message Claude Code puts inside messages.
        b.Raw(",{\"role\":\"system\",");
        b.Prop("content", Text(random, 30), SlotKind.Scanned, $"messages[{m}].content");
        b.Raw("}");
        m++;

        for (int turn = 0; turn < turns; turn++)
        {
            string id = "toolu_01" + Id(random);

            // assistant: thinking (signed) + text + tool_use with nested input.
            b.Raw(",{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",");
            b.Prop("thinking", Text(random, 30), SlotKind.Signed, $"messages[{m}].content[0].thinking");
            b.Raw(",");
            b.Prop("signature", "Eq" + Base64(random, 120));
            b.Raw("},{\"type\":\"text\",");
            b.Prop("text", Text(random, 20), SlotKind.Scanned, $"messages[{m}].content[1].text");
            b.Raw("},{\"type\":\"tool_use\",");
            b.Prop("id", id).Raw(",").Prop("name", "Bash").Raw(",\"input\":{");
            // Keys of tool inputs are scanned (and redacted in place) like values; a key slot comes right before its value's.
            b.Str("command", SlotKind.Scanned, $"messages[{m}].content[2].input.<key>").Raw(":");
            b.Str("grep -rn " + Text(random, 6), SlotKind.Scanned, $"messages[{m}].content[2].input.command");
            b.Raw(",");
            b.Str("description", SlotKind.Scanned, $"messages[{m}].content[2].input.<key>").Raw(":");
            b.Str(Text(random, 8), SlotKind.Scanned, $"messages[{m}].content[2].input.description");
            b.Raw(",\"env\":{");
            b.Str("CI_TOKEN_HINT", SlotKind.Scanned, $"messages[{m}].content[2].input.env.<key>").Raw(":");
            b.Str(Text(random, 4), SlotKind.Scanned, $"messages[{m}].content[2].input.env.CI_TOKEN_HINT");
            b.Raw("},\"args\":[");
            b.Str(Text(random, 3), SlotKind.Scanned, $"messages[{m}].content[2].input.args[0]").Raw(",");
            b.Str(Text(random, 3), SlotKind.Scanned, $"messages[{m}].content[2].input.args[1]");
            b.Raw("],\"timeout\":120000,\"dangerouslyDisableSandbox\":false}}]}");
            m++;

            // user: tool_result, alternating a plain string and nested blocks with an image.
            b.Raw(",{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",");
            b.Prop("tool_use_id", id).Raw(",");
            if (turn % 2 == 0)
            {
                b.Prop("content", FileListing(random, 25), SlotKind.Scanned, $"messages[{m}].content[0].content");
            }
            else
            {
                b.Raw("\"content\":[{\"type\":\"text\",");
                b.Prop("text", FileListing(random, 15), SlotKind.Scanned, $"messages[{m}].content[0].content[0].text");
                b.Raw("},{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",");
                b.Prop("data", "iVBORw0KGgo" + Base64(random, 600));
                b.Raw("}},{\"type\":\"tool_result\",");
                b.Prop("tool_use_id", "toolu_nested").Raw(",\"content\":[{\"type\":\"text\",");
                b.Prop("text", Text(random, 10), SlotKind.Scanned, $"messages[{m}].content[0].content[2].content[0].text");
                b.Raw("}]}],\"is_error\":false");
            }

            b.Raw("}]}");
            m++;
        }

        // assistant: redacted_thinking (opaque) + text.
        b.Raw(",{\"role\":\"assistant\",\"content\":[{\"type\":\"redacted_thinking\",");
        b.Prop("data", "EmwKAhgBEgy" + Base64(random, 200));
        b.Raw("},{\"type\":\"text\",");
        b.Prop("text", Text(random, 25), SlotKind.Scanned, $"messages[{m}].content[1].text");
        b.Raw("}]}");
        m++;

        // user: a text document and the new prompt with cache_control.
        b.Raw(",{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"text\",\"media_type\":\"text/plain\",");
        b.Prop("data", Text(random, 80), SlotKind.Scanned, $"messages[{m}].content[0].source.data");
        b.Raw("},");
        b.Prop("title", "notes.txt", SlotKind.Scanned, $"messages[{m}].content[0].title");
        b.Raw("},{\"type\":\"text\",");
        b.Prop("text", Text(random, 30), SlotKind.Scanned, $"messages[{m}].content[1].text");
        b.Raw(",\"cache_control\":{\"type\":\"ephemeral\"}}]}");

        b.Raw("],\"system\":[{\"type\":\"text\",");
        b.Prop("text", "x-anthropic-billing-header: cc_version=2.1.328; cc_entrypoint=sdk-cli;", SlotKind.Scanned, "system[0].text");
        b.Raw("},{\"type\":\"text\",");
        b.Prop("text", "You are Claude Code, Anthropic's official CLI for Claude.", SlotKind.Scanned, "system[1].text");
        b.Raw("},{\"type\":\"text\",");
        b.Prop("text", Text(random, 700), SlotKind.Scanned, "system[2].text");
        b.Raw(",\"cache_control\":{\"type\":\"ephemeral\"}}],\"tools\":[");
        string[] tools = ["Task", "Bash", "Glob", "Grep", "Read", "Edit", "Write", "NotebookEdit", "WebFetch", "TodoWrite", "WebSearch", "ToolSearch"];
        for (int t = 0; t < tools.Length; t++)
        {
            b.Raw(t == 0 ? "{" : ",{").Prop("name", tools[t]).Raw(",");
            b.Prop("description", Text(random, 140));
            b.Raw(",\"input_schema\":{\"type\":\"object\",\"properties\":{\"file_path\":{\"type\":\"string\",");
            b.Prop("description", Text(random, 20));
            b.Raw("},\"limit\":{\"type\":\"number\"}},\"required\":[\"file_path\"],\"additionalProperties\":false,\"$schema\":\"http://json-schema.org/draft-07/schema#\"}}");
        }

        b.Raw("],\"metadata\":{");
        b.Prop("user_id", "{\"device_id\":\"" + Id(random) + Id(random) + "\",\"session_id\":\"" + Guid(random) + "\"}");
        b.Raw("},\"max_tokens\":128000,\"thinking\":{\"type\":\"adaptive\"},\"context_management\":{\"edits\":[{\"type\":\"clear_thinking_20251015\",\"keep\":\"all\"}]},\"output_config\":{\"effort\":\"high\"},\"stream\":true}");
        return (b.ToArray(), b.Slots);
    }

    public static string Text(Random random, int words)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < words; i++)
        {
            if (i > 0)
            {
                sb.Append(random.Next(12) == 0 ? '\n' : ' ');
            }

            sb.Append(Words[random.Next(Words.Length)]);
        }

        return sb.ToString();
    }

    private static string FileListing(Random random, int lines)
    {
        var sb = new StringBuilder();
        for (int i = 1; i <= lines; i++)
        {
            sb.Append(i).Append('\t').Append(Text(random, 6)).Append('\n');
        }

        return sb.ToString();
    }

    private static string Id(Random random)
    {
        const string Chars = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        return string.Create(22, random, static (span, r) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = Chars[r.Next(Chars.Length)];
            }
        });
    }

    private static string Guid(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new System.Guid(bytes).ToString();
    }

    private static string Base64(Random random, int bytes)
    {
        var data = new byte[bytes];
        random.NextBytes(data);
        return Convert.ToBase64String(data);
    }
}
