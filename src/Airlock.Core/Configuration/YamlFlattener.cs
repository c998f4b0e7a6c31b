using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Airlock.Core.Configuration;

/// <summary>
/// Turns a YAML document into the flat <c>a:0:b</c> key space of Microsoft.Extensions.Configuration,
/// so environment variables (<c>AIRLOCK_UPSTREAMS__0__URL</c>) override file values in the usual .NET way.
/// Remembers the line of every key for error messages.
/// </summary>
internal static class YamlFlattener
{
    public static Dictionary<string, string?> Flatten(string yaml, string source, Dictionary<string, int> lines, List<string> errors)
    {
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            errors.Add($"{source}:{ex.Start.Line}:{ex.Start.Column}: invalid YAML: {ex.Message}");
            return result;
        }
        if (stream.Documents.Count == 0)
        {
            return result;
        }
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            errors.Add($"{source}: the top level must be a mapping (key: value lines)");
            return result;
        }
        Walk(root, "", result, lines);
        return result;
    }

    private static void Walk(YamlNode node, string prefix, Dictionary<string, string?> result, Dictionary<string, int> lines)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (keyNode, value) in map.Children)
                {
                    var key = keyNode is YamlScalarNode scalar ? scalar.Value ?? "" : keyNode.ToString();
                    Walk(value, prefix.Length == 0 ? key : prefix + ":" + key, result, lines);
                }
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    Walk(sequence.Children[i], prefix + ":" + i.ToString(CultureInfo.InvariantCulture), result, lines);
                }
                break;
            case YamlScalarNode scalarNode:
                // An explicit null (`key:` or `~`) is kept as null so "missing" and "empty" read alike.
                var isNull = scalarNode.Style == ScalarStyle.Plain && (scalarNode.Value is null or "" or "~" or "null");
                result[prefix] = isNull ? null : scalarNode.Value;
                lines[prefix] = (int)node.Start.Line;
                break;
        }
    }
}
