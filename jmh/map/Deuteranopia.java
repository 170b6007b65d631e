import java.awt.image.BufferedImage;
import java.io.File;
import javax.imageio.ImageIO;

/**
 * A picture as a deuteranope sees it (Machado et al. 2009, severity 1, on linear sRGB), to look at a map's colours.
 * Usage: java jmh/map/Deuteranopia.java IN.png OUT.png
 */
public class Deuteranopia {
    static final double[][] M = {{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413},
        {-0.011820, 0.042940, 0.968881}};

    public static void main(String[] args) throws Exception {
        BufferedImage in = ImageIO.read(new File(args[0]));
        BufferedImage out = new BufferedImage(in.getWidth(), in.getHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < in.getHeight(); y++) {
            for (int x = 0; x < in.getWidth(); x++) {
                int p = in.getRGB(x, y);
                double[] c = {lin((p >> 16) & 255), lin((p >> 8) & 255), lin(p & 255)};
                int rgb = 0;
                for (int i = 0; i < 3; i++) {
                    double v = Math.max(0, Math.min(1, M[i][0] * c[0] + M[i][1] * c[1] + M[i][2] * c[2]));
                    v = v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055;
                    rgb = rgb << 8 | (int) Math.round(v * 255);
                }
                out.setRGB(x, y, rgb);
            }
        }
        ImageIO.write(out, "png", new File(args[1]));
    }

    static double lin(int v) {
        double c = v / 255.0;
        return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }
}
